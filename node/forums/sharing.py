"""Forum plans on the wire: the plan for its co-hosts, and co-hosts' actions for the origin.

A plan goes only to the groups invited to co-host it (those whose alliance covers
``forums``), not to every ally: it is their shared working document. The forum's calendar
entry travels separately, as an ``Event``, to allies sharing ``events``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from federation.models import AllianceState, Peer
from federation.outbox import build_activity, enqueue
from federation.peers import list_peers
from node.forums.models import ForumPlan
from schemas import forum as wire
from schemas.activity import ActivityType
from schemas.base import Location
from schemas.event import EventStatus

SCOPE = "forums"
VERB_OF_ACTION: dict[wire.ForumActionKind, ActivityType] = {
    wire.ForumActionKind.ACCEPT: "Accept",
    wire.ForumActionKind.DECLINE: "Reject",
    wire.ForumActionKind.SUBMIT_QUESTION: "Create",
    wire.ForumActionKind.COMPLETE_TASK: "Update",
    wire.ForumActionKind.TAKE_ROLE: "Update",
}


def to_wire(plan: ForumPlan) -> wire.ForumPlan:
    return wire.ForumPlan(
        type="ForumPlan",
        schema_version=1,
        id=plan.object_id,
        attributed_to=plan.origin,
        version=plan.version,
        title=plan.title,
        description=plan.description,
        start_date=plan.start_date,
        end_date=plan.end_date,
        timezone=plan.timezone,
        location=Location.model_validate(plan.location) if plan.location else None,
        accessibility_notes=plan.accessibility_notes,
        online_url=plan.online_url,
        languages=plan.languages,
        interpretation=plan.interpretation,
        capacity=plan.capacity,
        visibility="public" if plan.visibility.value == "public" else "coalition",
        status=EventStatus(plan.status.value),
        event=plan.event_object_id,
        co_hosts=[wire.CoHost.model_validate(item) for item in plan.co_hosts],
        roles=[wire.Role.model_validate(item) for item in plan.roles],
        candidate_invitations=[
            wire.CandidateInvitation.model_validate(item) for item in plan.candidate_invitations
        ],
        agenda_items=[wire.AgendaItem.model_validate(item) for item in plan.agenda_items],
        question_submissions=[
            wire.QuestionSubmission.model_validate(item) for item in plan.question_submissions
        ],
        tasks=[wire.Task.model_validate(item) for item in plan.tasks],
        created_date=plan.created_at,
        modified_date=plan.updated_at,
    )


async def co_host_peers(session: AsyncSession, *, nodes: Sequence[str]) -> list[Peer]:
    """The invited groups this node may send plans to now (suspended ones hold deliveries)."""
    wanted = set(nodes)
    return [
        peer
        for peer in await list_peers(session)
        if peer.node_id in wanted
        and SCOPE in peer.scopes
        and peer.state in (AllianceState.active, AllianceState.suspended)
    ]


async def share_plan(
    session: AsyncSession, *, plan: ForumPlan, node_id: str, first: bool = False
) -> None:
    """Send the plan's current state to every invited co-host."""
    recipients = await co_host_peers(session, nodes=[item["node"] for item in plan.co_hosts])
    if not recipients:
        return
    verb: ActivityType = "Create" if plan.version == 1 or first else "Update"
    activity = build_activity(
        node_id=node_id, type=verb, object=to_wire(plan), to=[p.node_id for p in recipients]
    )
    await enqueue(session, activity=activity, recipients=recipients)


async def send_action(
    session: AsyncSession, *, action: wire.ForumAction, origin: Peer, node_id: str
) -> None:
    activity = build_activity(
        node_id=node_id, type=VERB_OF_ACTION[action.action], object=action, to=[origin.node_id]
    )
    await enqueue(session, activity=activity, recipients=[origin])
