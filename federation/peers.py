"""Alliances: the declared state machine, and the operations that move it.

The graph (``TRANSITIONS``) is data, checked when this module loads: every state is reachable
and ``ended`` can only be left by a new offer. Operations change a peer's state through
``transition``, which refuses any move the graph does not allow (409), and write the
activity that tells the peer in the same transaction (the outbox).

    event          from                          to         who starts it
    offer_sent     (none) | ended                proposed   our admin (ipo-node ally URL)
    offer_received (none) | ended | pending      pending    the peer's admin
    crossed        proposed                      active     both offered: each offer accepts
    accepted       pending                       active     our admin
    accept_received proposed                     active     the peer's admin
    rejected       pending                       ended      our admin
    reject_received proposed                     ended      the peer's admin
    no_common_scope proposed                     ended      their Offer (crossing ours) or
                                                            Accept shares no scope with ours
    suspended      active                        suspended  our admin (local: we stop sending
                                                            and refuse the peer's activities)
    resumed        suspended                     active     our admin
    ended          proposed|pending|active|suspended  ended  our admin (the peer is told)
    leave_received proposed|pending|active|suspended  ended  the peer's admin
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation.errors import FederationError
from federation.models import AllianceState, Delivery, DeliveryState, OutboxActivity, Peer
from federation.retention import forget_delivered
from federation.storage import utcnow
from schemas.node_document import NodeDocument

S = AllianceState

TRANSITIONS: Final[dict[str, tuple[frozenset[AllianceState | None], AllianceState]]] = {
    "offer_sent": (frozenset({None, S.ended}), S.proposed),
    "offer_received": (frozenset({None, S.ended, S.pending}), S.pending),
    "crossed": (frozenset({S.proposed}), S.active),
    "accepted": (frozenset({S.pending}), S.active),
    "accept_received": (frozenset({S.proposed}), S.active),
    "rejected": (frozenset({S.pending}), S.ended),
    "reject_received": (frozenset({S.proposed}), S.ended),
    "no_common_scope": (frozenset({S.proposed}), S.ended),
    "suspended": (frozenset({S.active}), S.suspended),
    "resumed": (frozenset({S.suspended}), S.active),
    "ended": (frozenset({S.proposed, S.pending, S.active, S.suspended}), S.ended),
    "leave_received": (frozenset({S.proposed, S.pending, S.active, S.suspended}), S.ended),
}
"""event -> (states it may start from, None meaning no peer row yet; the state it leads to)."""

CONTROL_ACTIVITY_TYPES: Final = frozenset({"Offer", "Accept", "Reject", "Leave"})
"""Activities about the alliance itself: still delivered after the alliance ends."""

SENT_WHILE_SUSPENDED: Final = frozenset({"AllianceStatus"})
"""Object types delivered to a peer while we suspend the alliance with it (the rest is held):
the notice that tells it we suspended (FEDERATION.md 6.6)."""


def _check_graph() -> None:
    reachable = {target for _, target in TRANSITIONS.values()}
    if reachable != set(AllianceState):
        raise AssertionError(f"unreachable alliance states: {set(AllianceState) - reachable}")
    for event, (sources, target) in TRANSITIONS.items():
        if S.ended in sources and target is not S.proposed and target is not S.pending:
            raise AssertionError(f"{event}: an ended alliance is only left by a new offer")


_check_graph()


class InvalidTransition(FederationError):
    """The alliance is not in a state that allows this."""

    status_code = 409
    code = "alliance_state_conflict"


# Why a move is refused, in the words an admin reads (the API's and the page's message), by
# the state the alliance is in; what they can do instead.
_IN_STATE: Final[dict[AllianceState | None, str]] = {
    None: "This node has no alliance with that node yet; offer one first.",
    S.proposed: "Your offer to that node is still waiting for their admin's answer; wait for "
    "it, or end the alliance to withdraw the offer.",
    S.pending: "That node has offered an alliance that waits for your answer: accept or reject it.",
    S.active: "The alliance with that node is already active.",
    S.suspended: "The alliance with that node is suspended: resume it to share again, or end it.",
    S.ended: "The alliance with that node has ended; to work together again, offer a new alliance.",
}
_REFUSED: Final[dict[str, str]] = {
    "offer_sent": "There is nothing to offer.",
    "accepted": "There is no offer of theirs to accept.",
    "rejected": "There is no offer of theirs to reject.",
    "suspended": "Only an active alliance can be suspended.",
    "resumed": "Only a suspended alliance can be resumed.",
    "ended": "There is nothing to end.",
}


def refusal(current: AllianceState | None, event: str) -> str:
    """Why ``event`` cannot happen to an alliance in ``current``, and what to do instead."""
    why = _REFUSED.get(event, f"This node cannot do '{event}' now.")
    if event == "offer_sent" and current in (S.active, S.suspended):
        why = (
            "There is nothing to offer: to share other kinds of objects, end the alliance and "
            "offer a new one with them."
        )
    return f"{_IN_STATE[current]} {why}"


def transition(current: AllianceState | None, event: str) -> AllianceState:
    """The state ``event`` leads to from ``current`` (``None``: no peer row yet)."""
    sources, target = TRANSITIONS[event]
    if current not in sources:
        raise InvalidTransition(refusal(current, event))
    return target


def apply(peer: Peer, event: str, *, is_new: bool = False) -> AllianceState | None:
    """Move ``peer`` along ``event``; returns the state it came from (``None`` if new)."""
    previous = None if is_new else peer.state
    peer.state = transition(previous, event)
    peer.state_changed_at = utcnow()
    if peer.state is S.ended:
        peer.suspended_by_peer_at = None  # what it said of a suspension no longer holds
    return previous


async def get_peer(session: AsyncSession, *, node_id: str) -> Peer | None:
    """The peer row for a node id, if this node knows it."""
    result = await session.execute(select(Peer).where(col(Peer.node_id) == node_id))
    return result.scalar_one_or_none()


async def list_peers(session: AsyncSession) -> Sequence[Peer]:
    """Every peer, allies first, then by name."""
    result = await session.execute(select(Peer).order_by(col(Peer.state), col(Peer.name)))
    return result.scalars().all()


def refresh_from_document(peer: Peer, document: NodeDocument) -> None:
    """Copy what a peer says about itself into its row (name, wards, inbox, keys)."""
    peer.name = document.name
    peer.kind = document.kind
    peer.wards = list(document.wards)
    peer.inbox_url = document.inbox
    peer.keys = document.keys.model_dump(mode="json", exclude_none=True)
    peer.keys_fetched_at = utcnow()


def new_peer(document: NodeDocument, *, state: AllianceState, scopes: Sequence[str]) -> Peer:
    """A peer row for a node first met through its node document."""
    peer = Peer(node_id=document.id, name=document.name, kind=document.kind, inbox_url="",
                state=state, scopes=list(scopes))  # fmt: skip
    refresh_from_document(peer, document)
    return peer


async def cancel_shared_deliveries(session: AsyncSession, *, peer: Peer) -> None:
    """Drop pending deliveries of shared objects to a peer whose alliance ended.

    Alliance control activities (the ``Leave`` telling them) are still delivered.
    """
    control = select(OutboxActivity.id).where(col(OutboxActivity.type).in_(CONTROL_ACTIVITY_TYPES))
    dropped = await session.execute(
        update(Delivery)
        .where(col(Delivery.peer_id) == peer.id)
        .where(col(Delivery.state) == DeliveryState.pending)
        .where(col(Delivery.activity_pk).not_in(control))
        .values(state=DeliveryState.failed, finished_at=utcnow(), last_error="alliance ended")
        .returning(col(Delivery.id))
    )
    await forget_delivered(session, delivery_ids=[pk for pk in dropped.scalars() if pk])
