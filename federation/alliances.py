"""Alliance operations: what our admin does, and what we do when a peer's activity arrives.

Each operation moves the state machine of ``federation.peers`` and, in the same transaction,
enqueues the activity that tells the peer and runs the application's alliance hooks (audit,
and backfill of shared objects when an alliance becomes active). Network work (fetching a
node document) happens before, outside the transaction.

The handshake on the wire::

    A: Offer  {type: Alliance, scopes, message}  -> B      B shows it to its admin (pending)
    B: Accept {type: Alliance, scopes}           -> A      both active; both backfill
    B: Reject {type: Alliance, scopes}           -> A      both ended
    A or B: Leave  <the other's node id>         -> other  both ended

If both offer at once, each offer accepts the other's: both become active on the scopes both
offered.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from federation.errors import FederationError, MalformedRequest
from federation.handlers import AllianceChange
from federation.models import AllianceState, Peer
from federation.outbox import build_activity, enqueue
from federation.peers import (
    apply,
    cancel_shared_deliveries,
    get_peer,
    new_peer,
    refresh_from_document,
)
from federation.policies import ALL_SCOPES
from federation.runtime import FederationRuntime
from schemas.activity import Activity, AllianceOffer, AllianceScope
from schemas.node_document import NodeDocument


class CannotAllyWithSelf(FederationError):
    status_code = 400
    code = "cannot_ally_with_self"


class UnknownScope(FederationError):
    status_code = 422
    code = "unknown_scope"


def check_scopes(scopes: Sequence[str]) -> list[AllianceScope]:
    """The scopes, validated and in canonical order."""
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown or not scopes:
        raise UnknownScope(
            f"Scopes must be some of {', '.join(ALL_SCOPES)}; got {unknown or 'none'}."
        )
    return [scope for scope in ALL_SCOPES if scope in scopes]  # type: ignore[misc]


async def _changed(
    session: AsyncSession,
    runtime: FederationRuntime,
    peer: Peer,
    *,
    event: str,
    previous: AllianceState | None,
    by: str,
) -> None:
    session.add(peer)
    await session.flush()
    change = AllianceChange(peer=peer, event=event, previous=previous, current=peer.state, by=by)
    await runtime.registry.alliance_changed(session, change)


async def _tell(
    session: AsyncSession, runtime: FederationRuntime, peer: Peer, activity: Activity
) -> None:
    await enqueue(session, activity=activity, recipients=[peer])
    runtime.wake_delivery()


def agreed_scopes(ours: Sequence[str], theirs: Sequence[str]) -> list[str]:
    """The scopes of an alliance both sides offered: those they share, in canonical order.

    If two crossing offers share none, the alliance covers what either offered; both sides
    compute the same answer from the same two offers, so they never disagree.
    """
    common = [scope for scope in ALL_SCOPES if scope in ours and scope in theirs]
    return common or [scope for scope in ALL_SCOPES if scope in ours or scope in theirs]


def _alliance(scopes: Sequence[str], message: str | None = None) -> AllianceOffer:
    return AllianceOffer(type="Alliance", scopes=check_scopes(scopes), message=message)


# ---- what our admin does ----------------------------------------------------------------------


async def propose_alliance(
    session: AsyncSession,
    runtime: FederationRuntime,
    *,
    document: NodeDocument,
    scopes: Sequence[str],
    message: str | None,
    by: str,
) -> Peer:
    """Offer an alliance to the node described by ``document`` (fetched just before).

    If that node has already offered us one, this accepts it instead.
    """
    if document.id == runtime.node_id:
        raise CannotAllyWithSelf("That address is this node itself.")
    offer = _alliance(scopes, message)
    peer = await get_peer(session, node_id=document.id)
    if peer is not None and peer.state is AllianceState.pending:
        refresh_from_document(peer, document)
        return await accept_alliance(session, runtime, peer=peer, by=by)
    if peer is None:
        peer = new_peer(document, state=AllianceState.proposed, scopes=offer.scopes)
        previous = apply(peer, "offer_sent", is_new=True)
    else:
        refresh_from_document(peer, document)
        peer.scopes = list(offer.scopes)
        previous = apply(peer, "offer_sent")
    activity = build_activity(
        node_id=runtime.node_id, type="Offer", object=offer, to=[peer.node_id]
    )
    peer.offer_activity_id = activity.id
    peer.message = message
    await _changed(session, runtime, peer, event="offer_sent", previous=previous, by=by)
    await _tell(session, runtime, peer, activity)
    return peer


async def accept_alliance(
    session: AsyncSession, runtime: FederationRuntime, *, peer: Peer, by: str
) -> Peer:
    """Accept a pending offer: the alliance becomes active on the offered scopes."""
    previous = apply(peer, "accepted")
    await _tell(
        session,
        runtime,
        peer,
        build_activity(
            node_id=runtime.node_id, type="Accept", object=_alliance(peer.scopes), to=[peer.node_id]
        ),
    )
    await _changed(session, runtime, peer, event="accepted", previous=previous, by=by)
    return peer


async def reject_alliance(
    session: AsyncSession, runtime: FederationRuntime, *, peer: Peer, by: str
) -> Peer:
    """Decline a pending offer."""
    previous = apply(peer, "rejected")
    await _tell(
        session,
        runtime,
        peer,
        build_activity(
            node_id=runtime.node_id, type="Reject", object=_alliance(peer.scopes), to=[peer.node_id]
        ),
    )
    await _changed(session, runtime, peer, event="rejected", previous=previous, by=by)
    return peer


async def suspend_alliance(
    session: AsyncSession, runtime: FederationRuntime, *, peer: Peer, by: str
) -> Peer:
    """Pause an alliance locally: hold our deliveries to the peer and refuse its activities."""
    previous = apply(peer, "suspended")
    await _changed(session, runtime, peer, event="suspended", previous=previous, by=by)
    return peer


async def resume_alliance(
    session: AsyncSession, runtime: FederationRuntime, *, peer: Peer, by: str
) -> Peer:
    """Lift a suspension: the deliveries held meanwhile go out, in order."""
    previous = apply(peer, "resumed")
    await _changed(session, runtime, peer, event="resumed", previous=previous, by=by)
    runtime.wake_delivery()
    return peer


async def end_alliance(
    session: AsyncSession, runtime: FederationRuntime, *, peer: Peer, by: str
) -> Peer:
    """End the alliance: pending shared deliveries are dropped and the peer is told."""
    previous = apply(peer, "ended")
    await cancel_shared_deliveries(session, peer=peer)
    await _tell(
        session,
        runtime,
        peer,
        build_activity(
            node_id=runtime.node_id, type="Leave", object=peer.node_id, to=[peer.node_id]
        ),
    )
    await _changed(session, runtime, peer, event="ended", previous=previous, by=by)
    return peer


# ---- what a peer's activity does (called by the inbox after every check) ----------------------


def _offered(activity: Activity) -> AllianceOffer:
    if not isinstance(activity.object, AllianceOffer):
        raise MalformedRequest(f"A {activity.type} about an alliance carries an Alliance object.")
    return activity.object


async def receive_offer(
    session: AsyncSession,
    runtime: FederationRuntime,
    *,
    activity: Activity,
    peer: Peer | None,
    document: NodeDocument | None,
) -> None:
    """An alliance offer: pending for our admin, or active at once if we offered too."""
    offer = _offered(activity)
    if peer is not None and peer.state is AllianceState.active:
        return  # already allies: a repeated offer changes nothing
    if peer is not None and peer.state is AllianceState.proposed:
        previous = apply(peer, "crossed")
        peer.scopes = agreed_scopes(peer.scopes, offer.scopes)
        await _tell(
            session,
            runtime,
            peer,
            build_activity(
                node_id=runtime.node_id,
                type="Accept",
                object=_alliance(peer.scopes),
                to=[peer.node_id],
            ),
        )
        await _changed(session, runtime, peer, event="crossed", previous=previous, by=peer.node_id)
        return
    if peer is None:
        if document is None:
            raise MalformedRequest("An offer from an unknown node needs its node document.")
        peer = new_peer(document, state=AllianceState.pending, scopes=offer.scopes)
        previous = apply(peer, "offer_received", is_new=True)
    else:
        if document is not None:
            refresh_from_document(peer, document)
        previous = apply(peer, "offer_received")
        peer.scopes = list(offer.scopes)
    peer.offer_activity_id = activity.id
    peer.message = offer.message
    await _changed(
        session, runtime, peer, event="offer_received", previous=previous, by=peer.node_id
    )


async def receive_accept(
    session: AsyncSession, runtime: FederationRuntime, *, activity: Activity, peer: Peer
) -> None:
    """Our offer was accepted: active on the scopes both sides named.

    After crossing offers both sides are active already and each receives the other's
    Accept: that changes nothing.
    """
    accepted = _offered(activity)
    if peer.state is AllianceState.active:
        return
    previous = apply(peer, "accept_received")
    peer.scopes = agreed_scopes(peer.scopes, accepted.scopes)
    await _changed(
        session, runtime, peer, event="accept_received", previous=previous, by=peer.node_id
    )
    runtime.wake_delivery()


async def receive_reject(
    session: AsyncSession, runtime: FederationRuntime, *, activity: Activity, peer: Peer
) -> None:
    """Our offer was declined."""
    _offered(activity)
    previous = apply(peer, "reject_received")
    await _changed(
        session, runtime, peer, event="reject_received", previous=previous, by=peer.node_id
    )


async def receive_leave(
    session: AsyncSession, runtime: FederationRuntime, *, activity: Activity, peer: Peer
) -> None:
    """The peer ended the alliance."""
    if activity.object != runtime.node_id:
        raise MalformedRequest("A Leave names the node being left as its object.")
    previous = apply(peer, "leave_received")
    await cancel_shared_deliveries(session, peer=peer)
    await _changed(
        session, runtime, peer, event="leave_received", previous=previous, by=peer.node_id
    )
