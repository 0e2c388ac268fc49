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

An alliance covers only scopes both sides offered (``agreed_scopes``: the intersection, never
wider than either offer). If both offer at once, each offer accepts the other's: both become
active on the scopes both offered. Where two offers (or an offer and its Accept) share no
scope, no alliance forms::

    crossing offers, nothing in common   each side: proposed --no_common_scope--> ended
                                         (both compute it from the same two offers; nothing sent)
    an Accept sharing nothing with ours  we: proposed --no_common_scope--> ended, and send Leave
                                         so the acceptor ends too
    our admin offers to a node whose     refused (422 no_common_scope); nothing changes
      pending offer shares nothing

An ended alliance with no agreed scopes is shown to the admin with that reason
(``ended_reason``); either admin may offer again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from federation.errors import FederationError, MalformedRequest
from federation.handlers import AllianceChange
from federation.models import AllianceState, Peer
from federation.outbox import build_activity, enqueue
from federation.peers import (
    InvalidTransition,
    apply,
    cancel_shared_deliveries,
    get_peer,
    new_peer,
    refresh_from_document,
    refusal,
)
from federation.policies import ALL_SCOPES
from federation.runtime import FederationRuntime
from schemas.activity import Activity, AllianceOffer, AllianceScope, AllianceStatus
from schemas.node_document import NodeDocument


class CannotAllyWithSelf(FederationError):
    status_code = 400
    code = "cannot_ally_with_self"


class UnknownScope(FederationError):
    status_code = 422
    code = "unknown_scope"


class NoCommonScope(FederationError):
    """Our admin's offer shares no scope with the offer that node already sent us."""

    status_code = 422
    code = "no_common_scope"


NO_COMMON_SCOPE_REASON = (
    "No scope in common: the two offers shared no kind of object, so no alliance was formed. "
    "Either side may offer again with scopes the other offered."
)


def check_scopes(scopes: Sequence[str]) -> list[AllianceScope]:
    """The scopes, validated and in canonical order."""
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown or not scopes:
        if not scopes:
            raise UnknownScope(
                f"Choose at least one kind of object to share: {', '.join(ALL_SCOPES)} (scopes)."
            )
        raise UnknownScope(
            f"This node does not know the scope {', '.join(unknown)}: choose among "
            f"{', '.join(ALL_SCOPES)}."
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
    detail: dict[str, object] | None = None,
) -> None:
    session.add(peer)
    await session.flush()
    change = AllianceChange(
        peer=peer, event=event, previous=previous, current=peer.state, by=by, detail=detail or {}
    )
    await runtime.registry.alliance_changed(session, change)


async def _tell(
    session: AsyncSession, runtime: FederationRuntime, peer: Peer, activity: Activity
) -> None:
    await enqueue(session, activity=activity, recipients=[peer])
    runtime.wake_delivery()


def agreed_scopes(ours: Sequence[str], theirs: Sequence[str]) -> list[str]:
    """The scopes of an alliance: those both sides offered, in canonical order.

    Never wider than either list; empty when they share none, and then no alliance forms.
    Both sides compute it from the same two lists, so they never disagree.
    """
    return [scope for scope in ALL_SCOPES if scope in ours and scope in theirs]


def ended_reason(peer: Peer) -> str | None:
    """Why an alliance is in its state, where the state alone does not say.

    An alliance ends with no agreed scopes only when two offers (or an offer and its Accept)
    shared none: no alliance was formed.
    """
    if peer.state is AllianceState.ended and not peer.scopes:
        return NO_COMMON_SCOPE_REASON
    return None


async def _no_common_scope(
    session: AsyncSession,
    runtime: FederationRuntime,
    peer: Peer,
    *,
    theirs: Sequence[str],
) -> None:
    """Two offers (or an offer and its Accept) shared no scope: end it, saying why."""
    ours = list(peer.scopes)
    previous = apply(peer, "no_common_scope")
    peer.scopes = []
    await _changed(
        session,
        runtime,
        peer,
        event="no_common_scope",
        previous=previous,
        by=peer.node_id,
        detail={"reason": "no scope in common", "ours": ours, "theirs": list(theirs)},
    )


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

    If that node has already offered us one, this accepts it instead, on the scopes both
    offers name (:class:`NoCommonScope` if there are none; nothing changes then).
    """
    if document.id == runtime.node_id:
        raise CannotAllyWithSelf("That address is this node itself.")
    offer = _alliance(scopes, message)
    peer = await get_peer(session, node_id=document.id)
    if peer is not None and peer.state is AllianceState.pending:
        common = agreed_scopes(offer.scopes, peer.scopes)
        if not common:
            raise NoCommonScope(
                f"{peer.name} already offered an alliance on {', '.join(peer.scopes)}; you "
                f"offered {', '.join(offer.scopes)}. An alliance covers only scopes both "
                "sides offer: include some of theirs, or reject their offer."
            )
        refresh_from_document(peer, document)
        peer.scopes = common
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
    """Accept a pending offer: the alliance becomes active on the scopes we stored for it
    (the offer's, or fewer when our admin answered with an offer of its own)."""
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


def _status(
    runtime: FederationRuntime, peer: Peer, state: Literal["suspended", "active"]
) -> Activity:
    """The notice telling ``peer`` how we now hold the alliance (FEDERATION.md 6.6)."""
    return build_activity(
        node_id=runtime.node_id,
        type="Update",
        object=AllianceStatus(type="AllianceStatus", state=state),
        to=[peer.node_id],
    )


async def suspend_alliance(
    session: AsyncSession, runtime: FederationRuntime, *, peer: Peer, by: str
) -> Peer:
    """Pause an alliance: hold our deliveries to the peer and refuse its shared objects.

    The peer is told (``Update`` of an ``AllianceStatus``, the one delivery a suspension lets
    through), so its admin sees who suspended instead of a silence.
    """
    previous = apply(peer, "suspended")
    await _tell(session, runtime, peer, _status(runtime, peer, "suspended"))
    await _changed(session, runtime, peer, event="suspended", previous=previous, by=by)
    return peer


async def resume_alliance(
    session: AsyncSession, runtime: FederationRuntime, *, peer: Peer, by: str
) -> Peer:
    """Lift a suspension: the deliveries held meanwhile go out, in order, then the notice
    that we resumed."""
    previous = apply(peer, "resumed")
    await _tell(session, runtime, peer, _status(runtime, peer, "active"))
    await _changed(session, runtime, peer, event="resumed", previous=previous, by=by)
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
    """An alliance offer: pending for our admin, or active at once if we offered too.

    Offers that cross become an alliance on the scopes both name; if they share none, no
    alliance forms (both sides end it, each from the same two offers, telling nobody).
    """
    offer = _offered(activity)
    if peer is not None and peer.state is AllianceState.active:
        return  # already allies: a repeated offer changes nothing
    if peer is not None and peer.state is AllianceState.proposed:
        common = agreed_scopes(peer.scopes, offer.scopes)
        if not common:
            await _no_common_scope(session, runtime, peer, theirs=offer.scopes)
            return
        previous = apply(peer, "crossed")
        peer.scopes = common
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

    Scopes in the Accept that our offer did not name are ignored: an Accept never widens an
    alliance. One that shares no scope with our offer forms none: we end it and send
    ``Leave``, so an acceptor that thinks itself allied ends too. After crossing offers both
    sides are active already and each receives the other's Accept: that changes nothing.
    """
    accepted = _offered(activity)
    if peer.state is AllianceState.active:
        return
    common = agreed_scopes(peer.scopes, accepted.scopes)
    if not common and peer.state is AllianceState.proposed:
        await _no_common_scope(session, runtime, peer, theirs=accepted.scopes)
        await _tell(
            session,
            runtime,
            peer,
            build_activity(
                node_id=runtime.node_id, type="Leave", object=peer.node_id, to=[peer.node_id]
            ),
        )
        return
    previous = apply(peer, "accept_received")
    peer.scopes = common
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


async def receive_status(
    session: AsyncSession, runtime: FederationRuntime, *, activity: Activity, peer: Peer
) -> None:
    """The peer suspended or resumed the alliance on its side: our state stays as it is (each
    side steers its own), and our admin sees it (``Peer.suspended_by_peer_at``)."""
    status = activity.object
    if not isinstance(status, AllianceStatus):
        raise MalformedRequest("An Update about an alliance carries an AllianceStatus object.")
    if peer.state not in (AllianceState.active, AllianceState.suspended):
        raise InvalidTransition(refusal(peer.state, "suspended"))
    suspended = status.state == "suspended"
    if suspended == (peer.suspended_by_peer_at is not None):
        return  # told again (its resend, or an older notice): nothing changes
    peer.suspended_by_peer_at = runtime.clock() if suspended else None
    event = "suspended_by_peer" if suspended else "resumed_by_peer"
    await _changed(session, runtime, peer, event=event, previous=peer.state, by=peer.node_id)
