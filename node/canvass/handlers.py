"""The canvass domain's inbox handlers and its alliance backfill.

The inbox has checked signature, origin, alliance and the ``canvass`` scope before any of
these run; each runs in the inbox's transaction.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from federation.handlers import AllianceChange, HandlerRegistry
from federation.models import Peer
from federation.storage import utcnow
from node.canvass import repository, service, sharing
from node.canvass.models import CallStatus
from node.config import Settings
from schemas import canvass as wire
from schemas.activity import Activity


def register(registry: HandlerRegistry, *, settings: Settings) -> None:
    """Install the handlers of calls, commitments, answers and reports, and the backfill."""

    async def call_changed(session: AsyncSession, activity: Activity, peer: Peer) -> None:
        if isinstance(activity.object, wire.CanvassCall):
            await service.apply_call(session, incoming=activity.object, peer=peer)

    async def committed(session: AsyncSession, activity: Activity, peer: Peer) -> None:
        if isinstance(activity.object, wire.CanvassCommitment):
            await service.take_commitment(
                session, payload=activity.object, home_node=peer.node_id, settings=settings
            )

    async def withdrawn(session: AsyncSession, activity: Activity, peer: Peer) -> None:
        if isinstance(activity.object, wire.CanvassCommitment):
            await service.drop_commitment(
                session, payload=activity.object, home_node=peer.node_id, settings=settings
            )

    async def answered(session: AsyncSession, activity: Activity, peer: Peer) -> None:
        if isinstance(activity.object, wire.CommitmentStatus):
            await service.apply_status(
                session, status=activity.object, peer=peer, settings=settings
            )

    async def reported(session: AsyncSession, activity: Activity, peer: Peer) -> None:
        if isinstance(activity.object, wire.CanvassReport):
            await service.apply_report(session, report=activity.object, peer=peer)

    registry.handle("Create", "CanvassCall")(call_changed)
    registry.handle("Update", "CanvassCall")(call_changed)
    registry.handle("Join", "CanvassCommitment")(committed)
    registry.handle("Undo", "CanvassCommitment")(withdrawn)
    registry.handle("Accept", "CommitmentStatus")(answered)
    registry.handle("Reject", "CommitmentStatus")(answered)
    registry.handle("Create", "CanvassReport")(reported)

    @registry.on_alliance_change
    async def backfill(session: AsyncSession, change: AllianceChange) -> None:
        if not change.began or sharing.SCOPE not in change.peer.scopes:
            return
        now = utcnow()
        for call in await repository.local_calls(session, origin=settings.public_url):
            if call.status is CallStatus.cancelled or call.expires_at <= now:
                continue
            shifts = await repository.shifts_of(session, call_id=call.id)
            await sharing.share_call(
                session,
                call=call,
                shifts=shifts,
                node_id=settings.public_url,
                recipients=[change.peer],
                first=True,
            )
