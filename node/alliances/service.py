"""Alliance steering for admins, on top of ``federation.alliances``, with the audit trail.

Every alliance change, ours or the peer's, is written to the audit log by one hook, in the
transaction of the change.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation import alliances
from federation.delivery import is_paused
from federation.discovery import fetch_node_document
from federation.handlers import AllianceChange, HandlerRegistry
from federation.models import AllianceState, Delivery, DeliveryState, Peer
from federation.peers import get_peer, list_peers
from federation.runtime import FederationRuntime
from federation.storage import utcnow
from node.alliances.models import AlliancePublic, DeliveryHealth
from node.audit.service import Actor, record
from node.errors import NotFound
from schemas.origin import same_origin


class PeerNotFound(NotFound):
    code = "peer_not_found"


def register(registry: HandlerRegistry) -> None:
    """Audit the alliance changes a peer causes (ours are audited where they are made)."""

    @registry.on_alliance_change
    async def audit_peer_change(session: AsyncSession, change: AllianceChange) -> None:
        if change.by == change.peer.node_id:
            await _audit(session, change, actor=Actor(kind="peer", label=change.by))


async def _audit(session: AsyncSession, change: AllianceChange, *, actor: Actor) -> None:
    await record(
        session,
        actor=actor,
        action=f"alliance.{change.event}",
        object_type="peer",
        object_id=change.peer.node_id,
        detail={
            "from": change.previous.value if change.previous else None,
            "to": change.current.value,
            "scopes": change.peer.scopes,
            **change.detail,
        },
    )


async def find_peer(session: AsyncSession, *, ref: str) -> Peer:
    """A peer by its numeric id or its node URL, as an admin may paste it: a node id names an
    origin, so ``HTTPS://Ward33.example/`` finds ``https://ward33.example``."""
    peer = await session.get(Peer, int(ref)) if ref.isdigit() else None
    if peer is None:
        peer = await get_peer(session, node_id=ref.rstrip("/"))
    if peer is None:
        peers = await list_peers(session)
        peer = next((p for p in peers if same_origin(ref.strip(), p.node_id)), None)
    if peer is None:
        raise PeerNotFound(f"This node knows no peer {ref}.")
    return peer


async def propose(
    session: AsyncSession,
    runtime: FederationRuntime,
    *,
    url: str,
    scopes: Sequence[str],
    message: str | None,
    actor: Actor,
) -> Peer:
    """Fetch the other node's document, then offer it an alliance."""
    document = await fetch_node_document(runtime.client, url, auth=runtime.signer())
    existing = await get_peer(session, node_id=document.id)
    previous = existing.state if existing is not None else None
    peer = await alliances.propose_alliance(
        session, runtime, document=document, scopes=scopes, message=message, by=actor.label
    )
    event = "accepted" if previous is AllianceState.pending else "offer_sent"
    await _audit(session, _change(peer, event, previous), actor=actor)
    return peer


ACTIONS = {
    "accept": alliances.accept_alliance,
    "reject": alliances.reject_alliance,
    "suspend": alliances.suspend_alliance,
    "resume": alliances.resume_alliance,
    "end": alliances.end_alliance,
}


async def act(
    session: AsyncSession, runtime: FederationRuntime, *, ref: str, action: str, actor: Actor
) -> Peer:
    """Accept, reject, suspend, resume or end the alliance with a peer."""
    peer = await find_peer(session, ref=ref)
    previous = peer.state
    await ACTIONS[action](session, runtime, peer=peer, by=actor.label)
    await _audit(session, _change(peer, PAST_TENSE[action], previous), actor=actor)
    return peer


PAST_TENSE = {
    "accept": "accepted",
    "reject": "rejected",
    "suspend": "suspended",
    "resume": "resumed",
    "end": "ended",
}


def _change(peer: Peer, event: str, previous: AllianceState | None) -> AllianceChange:
    return AllianceChange(peer=peer, event=event, previous=previous, current=peer.state, by="")


async def describe(session: AsyncSession, peers: Sequence[Peer]) -> list[AlliancePublic]:
    """Peers with their delivery health, counted in one query."""
    counts: dict[tuple[int, str], int] = {}
    rows = await session.execute(
        select(Delivery.peer_id, Delivery.state, func.count())
        .where(col(Delivery.state).in_([DeliveryState.pending, DeliveryState.failed]))
        .group_by(col(Delivery.peer_id), col(Delivery.state))
    )
    for peer_id, state, count in rows:
        counts[(peer_id, state)] = count
    return [
        AlliancePublic(
            id=peer.id or 0,
            node_id=peer.node_id,
            name=peer.name,
            kind=peer.kind,
            wards=peer.wards,
            state=peer.state,
            scopes=peer.scopes,
            key_fingerprints=[jwk["kid"] for jwk in peer.keys.get("keys", [])],
            message=peer.message,
            state_changed_at=peer.state_changed_at,
            suspended_by_peer_at=peer.suspended_by_peer_at,
            reason=alliances.ended_reason(peer),
            delivery=DeliveryHealth(
                queued=counts.get((peer.id or 0, DeliveryState.pending), 0),
                failed=counts.get((peer.id or 0, DeliveryState.failed), 0),
                consecutive_failures=peer.consecutive_failures,
                paused=is_paused(peer),
                next_attempt_at=peer.next_attempt_at,
                last_error=peer.last_error,
                last_success_at=peer.last_success_at,
            ),
        )
        for peer in peers
    ]


async def all_alliances(session: AsyncSession) -> list[AlliancePublic]:
    return await describe(session, await list_peers(session))


async def retry_now(
    session: AsyncSession, runtime: FederationRuntime, *, ref: str | None, actor: Actor
) -> int:
    """Send again now: failed deliveries go back to the queue and the backoff is lifted."""
    peers = [await find_peer(session, ref=ref)] if ref else list(await list_peers(session))
    requeued = 0
    for peer in peers:
        result = await session.execute(
            update(Delivery)
            .where(col(Delivery.peer_id) == peer.id)
            .where(col(Delivery.state) == DeliveryState.failed)
            .where(col(Delivery.last_error) != "alliance ended")
            .values(state=DeliveryState.pending, finished_at=None, created_at=utcnow())
        )
        requeued += int(result.rowcount)  # type: ignore[attr-defined]
        peer.next_attempt_at = None
        session.add(peer)
        await record(
            session,
            actor=actor,
            action="delivery.retry",
            object_type="peer",
            object_id=peer.node_id,
            detail={"requeued": int(result.rowcount)},  # type: ignore[attr-defined]
        )
    runtime.wake_delivery()
    return requeued
