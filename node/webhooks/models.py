"""Webhook subscriptions of partner clients, their outbox of messages, and the API shapes.

The secret of a subscription is stored as it is, not hashed: Standard Webhooks signatures are
an HMAC, a symmetric scheme, so this node needs the key itself to sign every message (a hash
of it could only check a signature the partner made, never make one). It is shown to the
partner once, at creation; whoever reads the database can forge this node's webhooks to that
partner, which is why a partner who suspects that deletes the subscription and makes a new one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from federation.storage import utc_column, utcnow

WebhookEventType = Literal[
    "endorsement.ratified",
    "endorsement.withdrawn",
    "event.created",
    "event.updated",
    "event.cancelled",
    "forum.updated",
    "canvass_call.posted",
    "canvass_shift.filled",
]
TEST_EVENT_TYPE = "webhook.test"
DeliveryStatus = Literal["pending", "delivered", "failed"]

# What a client must be allowed to read to be told about it: the part before the dot.
SCOPE_OF_KIND: dict[str, str] = {
    "endorsement": "endorsements:read",
    "event": "events:read",
    "forum": "forums:read",
    "canvass_call": "canvass:read",
    "canvass_shift": "canvass:read",
}


def scope_needed(event_type: str) -> str:
    """The read scope a client needs to subscribe to ``event_type``."""
    return SCOPE_OF_KIND[event_type.split(".", 1)[0]]


def new_subscription_id() -> str:
    return f"sub_{uuid.uuid4().hex}"


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class WebhookSubscription(SQLModel, table=True):
    """One partner endpoint and what it wants to hear about.

    ``consecutive_failures``, ``next_attempt_at`` and ``leased_until`` work as on a federation
    peer: the worker backs off the whole endpoint, not each message, so a receiver that is down
    is not hammered with every queued message and its failures count once per attempt.
    """

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(
        default_factory=new_subscription_id, max_length=40, sa_column_kwargs={"unique": True}
    )
    client_id: str = Field(
        max_length=64, foreign_key="partner_client.client_id", index=True, ondelete="CASCADE"
    )
    url: str = Field(max_length=2048)
    event_types: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    secret: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    disabled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    disabled_reason: str | None = Field(default=None, max_length=1000)
    consecutive_failures: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    leased_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_success_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class WebhookDelivery(SQLModel, table=True):
    """One message to one subscription: the transactional outbox row, and its fate.

    ``message_id`` is the ``webhook-id`` header: the same on every retry, so the receiver can
    drop a message it already has. One event sent to several subscriptions has one message id.
    ``payload`` is the exact body sent, so every retry carries the same bytes.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (sa.UniqueConstraint("subscription_id", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(
        foreign_key="webhook_subscription.id", index=True, ondelete="CASCADE"
    )
    message_id: str = Field(max_length=40, index=True)
    event_type: str = Field(max_length=64)
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    next_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    attempts: int = Field(default=0)
    last_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_status: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=1000)
    delivered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    given_up_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))

    @property
    def state(self) -> DeliveryStatus:
        if self.delivered_at is not None:
            return "delivered"
        return "failed" if self.given_up_at is not None else "pending"


# ---- API shapes -----------------------------------------------------------------------------


class WebhookSubscriptionCreate(BaseModel):
    url: str = PydanticField(
        min_length=1,
        max_length=2048,
        description=(
            "Where messages are POSTed: https (plain http only on a node in local development)."
        ),
        examples=["https://data.local73.org/hooks/ipo"],
    )
    event_types: list[WebhookEventType] = PydanticField(
        min_length=1,
        description="What to be told about; each needs the matching read scope.",
        examples=[["endorsement.ratified", "endorsement.withdrawn"]],
    )


class WebhookDeliveryPublic(BaseModel):
    message_id: str = PydanticField(description="The `webhook-id` header: same on every retry.")
    event_type: str
    status: DeliveryStatus
    created_at: datetime
    attempts: int
    last_attempt_at: datetime | None
    last_status: int | None = PydanticField(description="The receiver's last HTTP status.")
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    given_up_at: datetime | None


class WebhookSubscriptionPublic(BaseModel):
    id: str
    client_id: str
    url: str
    event_types: list[str]
    created_at: datetime
    is_enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None = PydanticField(
        description="Why the node stopped sending; fix the endpoint, then POST .../enable."
    )
    consecutive_failures: int
    next_attempt_at: datetime | None


class WebhookSubscriptionCreated(WebhookSubscriptionPublic):
    secret: str = PydanticField(
        description="The `whsec_` signing secret. Shown once: store it now.",
    )


class WebhookSubscriptionDetail(WebhookSubscriptionPublic):
    recent_deliveries: list[WebhookDeliveryPublic] = PydanticField(
        description="The latest messages to this endpoint, newest first."
    )


class WebhookSubscriptionList(BaseModel):
    items: list[WebhookSubscriptionPublic]
