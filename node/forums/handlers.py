"""The forums domain's inbox handlers and alliance backfill."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from federation.handlers import AllianceChange, HandlerRegistry
from federation.models import Peer
from node.config import Settings
from node.events.models import Visibility
from node.forums import service, sharing
from node.forums.models import ForumPlan
from schemas import forum as wire
from schemas.activity import Activity


def register(registry: HandlerRegistry, *, settings: Settings) -> None:
    """Install plan and co-host action handlers, and the backfill of plans to co-hosts."""

    async def plan_changed(session: AsyncSession, activity: Activity, peer: Peer) -> None:
        if isinstance(activity.object, wire.ForumPlan):
            await service.apply_plan(session, incoming=activity.object, peer=peer)

    async def acted(session: AsyncSession, activity: Activity, peer: Peer) -> None:
        action = activity.object
        if not isinstance(action, wire.ForumAction):
            return
        if sharing.VERB_OF_ACTION[action.action] != activity.type:
            raise service.UnknownForum(f"{action.action.value} is not sent as {activity.type}.")
        await service.apply_action(session, action=action, peer=peer, settings=settings)

    registry.handle("Create", "ForumPlan")(plan_changed)
    registry.handle("Update", "ForumPlan")(plan_changed)
    for verb in ("Accept", "Reject", "Create", "Update"):
        registry.handle(verb, "ForumAction")(acted)

    @registry.on_alliance_change
    async def backfill(session: AsyncSession, change: AllianceChange) -> None:
        if not change.began or sharing.SCOPE not in change.peer.scopes:
            return
        result = await session.execute(
            select(ForumPlan).where(
                col(ForumPlan.origin) == settings.public_url,
                col(ForumPlan.visibility) != Visibility.private,
            )
        )
        for plan in result.scalars():
            if change.peer.node_id in [item["node"] for item in plan.co_hosts]:
                await sharing.share_plan(
                    session, plan=plan, node_id=settings.public_url, first=True
                )
