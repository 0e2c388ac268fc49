"""What the endorsement, canvass and forum pages share: group names and times in Chicago.

Shared objects name groups by node id (a URL); a page shows the name the group published
instead, as this node knows it from its peer table, and says "us" plainly for itself.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from federation.models import AllianceState, Peer
from federation.peers import list_peers
from node.config import Settings

CHICAGO = ZoneInfo("America/Chicago")


async def group_names(session: AsyncSession, *, settings: Settings) -> dict[str, str]:
    """Node id -> the group's name, for every peer this node knows and for itself."""
    names = {peer.node_id: peer.name for peer in await list_peers(session)}
    names[settings.public_url] = settings.name
    return names


async def active_allies(session: AsyncSession, *, scope: str) -> list[Peer]:
    """Allies with an active alliance covering ``scope``: who can be asked to take part."""
    return [
        peer
        for peer in await list_peers(session)
        if peer.state is AllianceState.active and scope in peer.scopes
    ]


def when(moment: datetime | None, *, time: bool = True, zone: ZoneInfo = CHICAGO) -> str:
    """A time as a Chicago reader writes it: ``Sat 5 Dec 2026, 10:00`` (in ``zone``)."""
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    day = f"{local:%a} {local.day} {local:%b %Y}"
    return f"{day}, {local:%H:%M}" if time else day


def span(start: datetime, end: datetime, *, zone: ZoneInfo = CHICAGO) -> str:
    """``Sat 5 Dec 2026, 10:00 to 13:00`` (the end date too if it is another day), in ``zone``."""
    first, last = start.astimezone(zone), end.astimezone(zone)
    if first.date() == last.date():
        return f"{when(start, zone=zone)} to {last:%H:%M}"
    return f"{when(start, zone=zone)} to {when(end, zone=zone)}"


def parse_local(value: str) -> datetime | None:
    """A ``datetime-local`` form value, read as Chicago time; ``None`` if empty or malformed."""
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=CHICAGO) if value else None
    except ValueError:
        return None


def split_list(value: str) -> list[str]:
    """A comma-separated form field as a list, blanks dropped."""
    return [item.strip() for item in value.split(",") if item.strip()]


def local_input(moment: datetime | None) -> str:
    """A time as a ``datetime-local`` input's value, in Chicago time."""
    return moment.astimezone(CHICAGO).strftime("%Y-%m-%dT%H:%M") if moment else ""
