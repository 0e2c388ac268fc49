"""The seed story, driven through the six nodes' real APIs, flow by flow.

Alliances come first (everything else travels over them); then the sample events, the joint
endorsement, the forum plan and the canvass call run side by side, as five groups would; last
the public face (it shows the endorsement once ratified).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from node.demo import canvass, endorsement, events, forum, public
from node.demo.coalition import COALITION, Organization, alliances
from node.demo.story import ALLIANCES, FlowResult, Story, run_flow

FLOWS = ("alliances", "events", "endorsement", "forum", "canvass", "public")


async def run_story(story: Story, *, progress: Callable[[str], None]) -> list[FlowResult]:
    progress("allying the six nodes (offers and acceptances through each admin's API) ...")
    allied = await run_flow("alliances", ally_everyone, story)
    progress(f"  {allied.detail}")
    if not allied.converged:
        return [allied]
    progress("telling the story: events, the joint endorsement, the forum, the canvass call ...")
    rest = await asyncio.gather(
        run_flow("events", events.flow, story),
        run_flow("endorsement", endorsement.flow, story),
        run_flow("forum", forum.flow, story),
        run_flow("canvass", canvass.flow, story),
    )
    progress("the public face: profiles, invitations, the endorsement each group shows ...")
    face = await run_flow("public", public.flow, story)
    return [allied, *rest, face]


async def ally_everyone(story: Story) -> str:
    """Every alliance of the plan: offered by one admin, accepted by the other, active on both."""
    plan = alliances()
    states = {org: await story.alliance_states(org) for org in COALITION}
    offered = 0
    for alliance in plan:
        if story.url(alliance.accepting) not in states[alliance.offering]:
            await story.admins[alliance.offering].post(
                ALLIANCES,
                {"url": story.url(alliance.accepting), "scopes": list(alliance.scopes)},
                expect=201,
            )
            offered += 1
    await asyncio.gather(*(_accept(story, a.offering, a.accepting) for a in plan))
    await asyncio.gather(*(_active(story, a.offering, a.accepting) for a in plan),
                         *(_active(story, a.accepting, a.offering) for a in plan))  # fmt: skip
    mesh = sum(1 for a in plan if a.accepting.kind == "ipo")
    how = f"{offered} offered and accepted now" if offered else "all from an earlier run"
    return (
        f"{len(plan)} alliances active on both sides ({mesh} among the five groups, "
        f"{len(plan) - mesh} with the union; {how})"
    )


async def _active(story: Story, one: Organization, other: Organization) -> None:
    await story.wait(
        lambda: story.alliance_states(one),
        lambda seen: seen.get(story.url(other)) == "active",
        f"{one.short} to see its alliance with {other.short} active",
    )


async def _accept(story: Story, offering: Organization, accepting: Organization) -> None:
    """``accepting``'s admin sees the offer from ``offering`` and accepts it (unless done)."""
    seen = await story.wait(
        lambda: story.alliance_states(accepting),
        lambda states: states.get(story.url(offering)) in ("pending", "active"),
        f"{accepting.short} to receive {offering.short}'s alliance offer",
    )
    if seen[story.url(offering)] == "pending":
        await story.admins[accepting].post(f"{ALLIANCES}/{story.url(offering)}/accept")
