"""The federation tables: peers (alliances), the outbox, deliveries, and the inbox.

Alliance states, per peer (``Peer.state``)::

    we offer:    proposed --their Accept (or crossing Offer)--> active
                     \\--their Reject, or an answer sharing no scope with ours--> ended
    they offer:  pending --our accept--> active
                     \\--our reject--> ended
    active --suspend--> suspended --resume--> active
    active | suspended --end (either side)--> ended

``scopes`` are the agreed scopes once active (what both sides offered); an alliance that
ended because the two offers shared none keeps no scopes. ``active`` is the only state in
which shared objects flow. ``suspended`` holds deliveries (they are kept and sent on resume)
and refuses the peer's activities. ``ended`` stops delivery both ways; what was received
stays, marked as from a former ally.

Delivery states (``Delivery.state``)::

    pending --2xx--> delivered
       |  \\--final 4xx (not 401/408/429)--> failed      (shown to the admin; retry by hand)
       |  \\--past expires_at--> expired
       \\--transient error--> pending (attempts + 1, the peer backs off)

Deliveries to one peer go out in the order they were enqueued; a failure at the head holds the
rest, so a peer back from an outage receives everything in order. A worker leases a whole peer
(``Peer.lease_until``), claimed with ``FOR UPDATE SKIP LOCKED``, so two workers never send to
the same peer at once and adding workers adds throughput across peers.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from federation.storage import enum_column, utc_column, utcnow


class AllianceState(enum.StrEnum):
    proposed = "proposed"
    pending = "pending"
    active = "active"
    suspended = "suspended"
    ended = "ended"


class DeliveryState(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"
    expired = "expired"


class InboxState(enum.StrEnum):
    processed = "processed"
    failed = "failed"


class Peer(SQLModel, table=True):
    """Another node this node knows: an ally, a would-be ally, or a former one."""

    __tablename__ = "peer"

    id: int | None = Field(default=None, primary_key=True)
    node_id: str = Field(max_length=512, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    wards: list[int] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    inbox_url: str = Field(max_length=512)
    keys: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    keys_fetched_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    state: AllianceState = Field(sa_column=sa.Column(enum_column(AllianceState), nullable=False))
    scopes: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    offer_activity_id: str | None = Field(default=None, max_length=512)
    message: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    state_changed_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    # Since when the peer says it has suspended the alliance on its side (its AllianceStatus,
    # FEDERATION.md 6.6); None while it has not, or once it resumed.
    suspended_by_peer_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # Delivery health, per peer.
    consecutive_failures: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_error: str | None = Field(default=None, max_length=1000)
    last_success_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    lease_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class OutboxActivity(SQLModel, table=True):
    """An activity this node sent, exactly as serialized; one per change."""

    __tablename__ = "outbox_activity"

    id: int | None = Field(default=None, primary_key=True)
    activity_id: str = Field(max_length=512, sa_column_kwargs={"unique": True})
    type: str = Field(max_length=32)
    object_type: str = Field(default="", max_length=32)
    object_id: str = Field(default="", max_length=512, index=True)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    expires_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    signing_kid: str | None = Field(default=None, max_length=200)


class Delivery(SQLModel, table=True):
    """One activity to one peer."""

    __tablename__ = "delivery"
    __table_args__ = (
        sa.UniqueConstraint("activity_pk", "peer_id"),
        sa.Index("ix_delivery_peer_state_id", "peer_id", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    activity_pk: int = Field(foreign_key="outbox_activity.id", ondelete="CASCADE")
    peer_id: int = Field(foreign_key="peer.id", ondelete="CASCADE")
    state: DeliveryState = Field(
        default=DeliveryState.pending,
        sa_column=sa.Column(enum_column(DeliveryState), nullable=False),
    )
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    expires_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=1000)
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class InboxActivity(SQLModel, table=True):
    """An activity received from a peer. The unique ``activity_id`` is the dedup guarantee."""

    __tablename__ = "inbox_activity"

    id: int | None = Field(default=None, primary_key=True)
    activity_id: str = Field(max_length=512, sa_column_kwargs={"unique": True})
    actor: str = Field(max_length=512, index=True)
    type: str = Field(max_length=32)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    state: InboxState = Field(sa_column=sa.Column(enum_column(InboxState), nullable=False))
    attempts: int = 1
    last_error: str | None = Field(default=None, max_length=1000)
    next_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class ReplicaTombstone(SQLModel, table=True):
    """A shared object its origin deleted or stopped sharing, at ``version``: no Create or
    Update at or below that version may bring it back."""

    __tablename__ = "replica_tombstone"

    id: int | None = Field(default=None, primary_key=True)
    object_id: str = Field(max_length=512, sa_column_kwargs={"unique": True})
    origin: str = Field(max_length=512)
    former_type: str = Field(max_length=32)
    version: int
    deleted_at: datetime = Field(sa_column=utc_column())
