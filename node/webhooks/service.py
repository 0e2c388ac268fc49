"""Webhook subscriptions: who may subscribe to what, and where messages may go.

A subscription's life::

    create (enabled; the secret shown once) ──> deliveries ──2xx──> still enabled
        └── 410 Gone, or DISABLE_AFTER_FAILURES failed attempts in a row ──> disabled (reason kept)
    disabled ──POST .../enable──> enabled again; queued messages go out, oldest first
    delete: the subscription and its queued messages are gone

A partner sees and changes only its own subscriptions: another client's id answers 404, as an
id that does not exist does, so ids do not leak.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation.client import non_public_reason, parse_ip_literal
from federation.storage import utcnow
from node.config import Settings
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.webhooks.models import (
    TEST_EVENT_TYPE,
    WebhookDelivery,
    WebhookDeliveryPublic,
    WebhookSubscription,
    WebhookSubscriptionCreate,
    WebhookSubscriptionPublic,
    new_message_id,
    scope_needed,
)

SECRET_BYTES = 24  # 192 bits; Standard Webhooks asks for 24 to 64
RECENT_DELIVERIES = 20


class SubscriptionNotFound(NotFound):
    code = "webhook_subscription_not_found"


class ScopeNotHeld(PermissionDenied):
    code = "insufficient_scope"


class SubscriptionDisabled(Conflict):
    code = "webhook_subscription_disabled"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def check_url(url: str, *, settings: Settings) -> str:
    """The endpoint URL if this node may post to it; else a 422 saying why."""
    parts = urlsplit(url)
    field = ["body", "url"]
    allowed = ("https", "http") if settings.allow_private_peers else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise InvalidInput(
            "The webhook URL must be an https:// URL (plain http only on a node in local "
            "development).",
            field=field,
        )
    if parts.username or parts.password or parts.fragment:
        raise InvalidInput(
            "The webhook URL must not carry credentials or a #fragment.", field=field
        )
    literal = parse_ip_literal(parts.hostname)
    reason = non_public_reason(literal) if literal is not None else None
    if reason and not settings.allow_private_peers:
        raise InvalidInput(f"The webhook URL points at a {reason} address.", field=field)
    return url


def check_scopes(event_types: Sequence[str], *, scopes: frozenset[str]) -> None:
    """A client hears only about what it may read: 403 naming the scope it lacks."""
    for event_type in event_types:
        needed = scope_needed(event_type)
        if needed not in scopes:
            raise ScopeNotHeld(
                f"Subscribing to {event_type} needs the {needed} scope, which this client "
                "does not hold; ask the node's admin to grant it, or leave that event type out."
            )


async def create_subscription(
    session: AsyncSession,
    *,
    client_id: str,
    scopes: frozenset[str],
    data: WebhookSubscriptionCreate,
    settings: Settings,
) -> WebhookSubscription:
    check_scopes(data.event_types, scopes=scopes)
    subscription = WebhookSubscription(
        client_id=client_id,
        url=check_url(data.url, settings=settings),
        event_types=sorted(set(data.event_types)),
        secret=new_secret(),
    )
    session.add(subscription)
    await session.flush()
    return subscription


async def list_subscriptions(
    session: AsyncSession, *, client_id: str | None
) -> list[WebhookSubscription]:
    """One client's subscriptions, or (``None``) every client's, for an admin."""
    query = select(WebhookSubscription).order_by(col(WebhookSubscription.id))
    if client_id is not None:
        query = query.where(col(WebhookSubscription.client_id) == client_id)
    return list((await session.execute(query)).scalars())


async def get_subscription(
    session: AsyncSession, *, client_id: str, subscription_id: str, for_update: bool = False
) -> WebhookSubscription:
    query = (
        select(WebhookSubscription)
        .where(col(WebhookSubscription.public_id) == subscription_id)
        .where(col(WebhookSubscription.client_id) == client_id)
    )
    if for_update:
        query = query.with_for_update()
    subscription = (await session.execute(query)).scalar_one_or_none()
    if subscription is None:
        raise SubscriptionNotFound(f"This client has no webhook subscription {subscription_id}.")
    return subscription


async def recent_deliveries(
    session: AsyncSession, *, subscription: WebhookSubscription
) -> list[WebhookDelivery]:
    result = await session.execute(
        select(WebhookDelivery)
        .where(col(WebhookDelivery.subscription_id) == subscription.id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(RECENT_DELIVERIES)
    )
    return list(result.scalars())


async def delete_subscription(
    session: AsyncSession, *, client_id: str, subscription_id: str
) -> None:
    subscription = await get_subscription(
        session, client_id=client_id, subscription_id=subscription_id, for_update=True
    )
    # Explicit: SQLite enforces ON DELETE CASCADE only with its foreign_keys pragma on.
    await session.execute(
        delete(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == subscription.id)
    )
    await session.delete(subscription)
    await session.flush()


async def enable_subscription(
    session: AsyncSession, *, client_id: str, subscription_id: str
) -> WebhookSubscription:
    """Start sending again, at once, after the partner fixed the endpoint."""
    subscription = await get_subscription(
        session, client_id=client_id, subscription_id=subscription_id, for_update=True
    )
    subscription.disabled_at = None
    subscription.disabled_reason = None
    subscription.consecutive_failures = 0
    subscription.next_attempt_at = None
    session.add(subscription)
    await session.flush()
    return subscription


async def send_test(
    session: AsyncSession, *, client_id: str, subscription_id: str
) -> WebhookDelivery:
    """Queue a ``webhook.test`` message: it goes out exactly as real ones do."""
    subscription = await get_subscription(
        session, client_id=client_id, subscription_id=subscription_id
    )
    if subscription.disabled_at is not None:
        raise SubscriptionDisabled(
            f"Webhook subscription {subscription_id} is disabled "
            f"({subscription.disabled_reason}); enable it first."
        )
    now = utcnow()
    body = {
        "type": TEST_EVENT_TYPE,
        "timestamp": now.isoformat(),
        "data": {"subscription": subscription.public_id},
    }
    delivery = WebhookDelivery(
        subscription_id=_id(subscription),
        message_id=new_message_id(),
        event_type=TEST_EVENT_TYPE,
        payload=json.dumps(body, separators=(",", ":")),
        created_at=now,
        next_attempt_at=now,
    )
    session.add(delivery)
    await session.flush()
    return delivery


def public(subscription: WebhookSubscription) -> WebhookSubscriptionPublic:
    return WebhookSubscriptionPublic(
        id=subscription.public_id,
        client_id=subscription.client_id,
        url=subscription.url,
        event_types=list(subscription.event_types),
        created_at=subscription.created_at,
        is_enabled=subscription.disabled_at is None,
        disabled_at=subscription.disabled_at,
        disabled_reason=subscription.disabled_reason,
        consecutive_failures=subscription.consecutive_failures,
        next_attempt_at=subscription.next_attempt_at,
    )


def delivery_public(delivery: WebhookDelivery) -> WebhookDeliveryPublic:
    return WebhookDeliveryPublic(
        message_id=delivery.message_id,
        event_type=delivery.event_type,
        status=delivery.state,
        created_at=delivery.created_at,
        attempts=delivery.attempts,
        last_attempt_at=delivery.last_attempt_at,
        last_status=delivery.last_status,
        last_error=delivery.last_error,
        next_attempt_at=delivery.next_attempt_at if delivery.state == "pending" else None,
        delivered_at=delivery.delivered_at,
        given_up_at=delivery.given_up_at,
    )


def _id(subscription: WebhookSubscription) -> int:
    if subscription.id is None:
        raise ValueError("a stored subscription has an id")
    return subscription.id
