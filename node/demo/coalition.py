"""The northwest-side coalition of the seed story: who is in it and who allies with whom.

Five ward groups (IPOs) and a union local. The five groups ally in a full mesh on every
scope, so each one holds every other's key and can verify every co-signature itself; the
union allies with each group on what a union partner shares (events, endorsements, canvass
calls) but not forum planning.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Literal

from federation.policies import ALL_SCOPES

UNION_SCOPES: tuple[str, ...] = ("events", "endorsements", "canvass")


@dataclass(frozen=True)
class Organization:
    name: str
    slug: str
    kind: Literal["ipo", "union"]
    wards: tuple[int, ...]
    short: str
    """What the summary and the progress lines call it."""

    @property
    def admin_email(self) -> str:
        return f"admin@{self.slug}.example"


WARD33 = Organization("33rd Ward Working Families", "ward33", "ipo", (33,), "33WF")
WARD30 = Organization("30th United", "ward30", "ipo", (30,), "30th United")
WARD35 = Organization("United Neighbors of the 35th Ward", "ward35", "ipo", (35,), "UN35")
WARD39 = Organization("39th Ward Neighbors United", "ward39", "ipo", (39,), "39th NU")
NWSIDE = Organization(
    "United Northwest Side", "nwside", "ipo", (30, 31, 35, 36, 38, 39, 45), "United NW Side"
)
UNION = Organization("SEIU Local 73", "seiu73", "union", (), "SEIU Local 73")

COALITION: tuple[Organization, ...] = (WARD33, WARD30, WARD35, WARD39, NWSIDE, UNION)
"""In port order: the first gets the base port, the union base + 5."""

IPOS: tuple[Organization, ...] = tuple(org for org in COALITION if org.kind == "ipo")
OTHER_GROUPS: tuple[Organization, ...] = (WARD30, WARD35, WARD39, NWSIDE)
"""The four groups beside 33WF: the mayoral forum's co-hosts."""


@dataclass(frozen=True)
class Alliance:
    offering: Organization
    accepting: Organization
    scopes: tuple[str, ...]


def alliances() -> list[Alliance]:
    """Every alliance of the demo: the IPO mesh, then each IPO with the union.

    The earlier organization in ``COALITION`` offers; the later one accepts.
    """
    mesh = [Alliance(a, b, ALL_SCOPES) for a, b in combinations(IPOS, 2)]
    return mesh + [Alliance(ipo, UNION, UNION_SCOPES) for ipo in IPOS]
