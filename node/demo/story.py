"""What every flow of the demo's story shares: the nodes, their admins, and how to wait.

Each flow is written as "make sure it is so, then wait until every node shows it": it looks
for what an earlier run left (by title, candidate or email) and only does the steps still
missing, so a second ``ipo-node demo`` reuses the story instead of telling it twice. A flow
never raises: it returns whether it converged and the figures that show it, or what it was
still waiting for when its deadline passed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from node.demo.api import Api, NotConverged, eventually
from node.demo.coalition import Organization
from node.demo.processes import DemoNode

ALLIANCES = "/api/v1/alliances"


@dataclass(frozen=True)
class FlowResult:
    name: str
    converged: bool
    detail: str


@dataclass
class Story:
    """The running coalition as the demo sees it: each node and its admin's API client."""

    nodes: dict[Organization, DemoNode]
    admins: dict[Organization, Api]
    timeout: float = 90.0
    """How long a flow waits for federation to settle before calling it not converged."""

    def url(self, org: Organization) -> str:
        return self.nodes[org].url

    async def wait(
        self, fetch: Callable[[], Awaitable[Any]], until: Callable[[Any], bool], what: str
    ) -> Any:
        return await eventually(fetch, until, what=what, seconds=self.timeout)

    async def alliance_states(self, org: Organization) -> dict[str, str]:
        """``org``'s view of its peers: node id -> alliance state."""
        listed = await self.admins[org].get(ALLIANCES)
        return {item["node_id"]: item["state"] for item in listed}


async def run_flow(name: str, flow: Callable[[Story], Awaitable[str]], story: Story) -> FlowResult:
    """Run one flow; a refusal or a missed deadline becomes a failed result, not a crash."""
    try:
        return FlowResult(name, True, await flow(story))
    except (NotConverged, KeyError, ValueError) as exc:
        return FlowResult(name, False, str(exc))
    except httpx.HTTPError as exc:  # a node went away or hung
        return FlowResult(name, False, f"a node stopped answering: {exc!r}")
