"""Sending webhook messages: the same outbox, lease and retry schedule as federation.

One round (``WebhookDispatcher.run_once``), run by the delivery worker after its federation
round (``DeliveryWorker.drains``), so ``serve``'s embedded worker and ``ipo-node worker``
send both with one loop::

    lease up to N enabled subscriptions with queued messages, not backing off
        (FOR UPDATE SKIP LOCKED on PostgreSQL, then ``leased_until``: several workers share)
    for each, concurrently, its queued messages oldest first, each signed afresh:
      2xx                         -> delivered; the failure count resets
      410 Gone                    -> this message failed; the subscription is disabled at once
      other 4xx but 408/429,      -> this message failed (final); go on to the next
        or a refused address
      408, 429, 5xx, network      -> the subscription backs off (federation's schedule:
                                     30 s, 2 min, 10 min ... daily; Retry-After wins when
                                     longer); stop
      older than 7 days unsent    -> failed without sending ("expired")
    every failed attempt counts; DISABLE_AFTER_FAILURES (10) in a row disable the
    subscription with the reason shown in the API. Ten retryable failures on the schedule
    take about three days, so a receiver down for a weekend is not cut off.

Messages are signed with the ``standardwebhooks`` package: ``webhook-id`` (the message id,
the same on every retry: the receiver's idempotency key), ``webhook-timestamp`` (this
attempt's time) and ``webhook-signature`` (``v1,`` base64 HMAC-SHA256 of
``id.timestamp.body`` with the subscription's secret).

The HTTP client is made by ``federation.client.create_federation_client``, like federation's
(address pinning, no redirects, 5 s to connect, 10 s for the whole exchange), but it is a
second client: a partner's slow endpoint cannot take federation's connections, and tests can
route federation in-process while webhooks go to a real loopback receiver.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select
from standardwebhooks import Webhook

from federation.client import AddressNotAllowed, send_with_deadline
from federation.delivery import GIVE_UP_AFTER, LEASE, Outcome, backoff, parse_retry_after
from federation.errors import FederationError
from federation.storage import utcnow
from node.webhooks.models import WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)

DISABLE_AFTER_FAILURES = 10
RETRYABLE_4XX = frozenset({408, 429})
MAX_ANSWER_BYTES = 16 * 1024


# What a failed send tells the partner: what went wrong, in words, and nothing about how this
# node's network sees the host (what a name resolves to, which addresses were tried), which
# would let a partner map the node's internal network. The operator's log has the detail.
NOT_PUBLIC = (
    "The webhook URL's host is not a public internet address; this node will not post to it."
)


def _told_to_partner(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "The webhook endpoint did not answer in time."
    if isinstance(exc, httpx.ConnectError):
        return "Could not connect to the webhook URL's host."
    if isinstance(exc, httpx.RemoteProtocolError):
        return "The webhook endpoint's answer was not valid HTTP."
    if isinstance(exc, FederationError):
        return exc.default_message
    return "The message could not be sent."


def _log_detail(subscription: WebhookSubscription, exc: Exception) -> None:
    log.warning("webhook to %s failed: %s: %s", subscription.url, type(exc).__name__, exc)


@dataclass
class WebhookDispatcher:
    """Sends due webhook messages; one per process, several processes may share a database."""

    session_maker: async_sessionmaker[AsyncSession]
    client: httpx.AsyncClient
    max_subscriptions_per_round: int = 64
    batch_size: int = 50
    deadline_seconds: float = 10.0
    clock: Callable[[], datetime] = utcnow

    async def run_once(self) -> int:
        """One round: lease due subscriptions and send to them concurrently; returns sends."""
        leased = await self.claim_due_subscriptions()
        if not leased:
            return 0
        counts = await asyncio.gather(*(self._send_queue(sid) for sid in leased))
        return sum(counts)

    async def claim_due_subscriptions(self) -> list[int]:
        now = self.clock()
        async with self.session_maker() as session, session.begin():
            queued = (
                select(WebhookDelivery.id)
                .where(col(WebhookDelivery.subscription_id) == col(WebhookSubscription.id))
                .where(col(WebhookDelivery.delivered_at).is_(None))
                .where(col(WebhookDelivery.given_up_at).is_(None))
                .exists()
            )
            due = (col(WebhookSubscription.next_attempt_at).is_(None)) | (
                col(WebhookSubscription.next_attempt_at) <= now
            )
            free = (col(WebhookSubscription.leased_until).is_(None)) | (
                col(WebhookSubscription.leased_until) < now
            )
            query = (
                select(WebhookSubscription.id)
                .where(col(WebhookSubscription.disabled_at).is_(None))
                .where(due)
                .where(free)
                .where(queued)
                .order_by(col(WebhookSubscription.next_attempt_at).asc().nulls_first())
                .limit(self.max_subscriptions_per_round)
                .with_for_update(skip_locked=True, of=WebhookSubscription)
            )
            ids = [sid for sid in (await session.execute(query)).scalars() if sid is not None]
            if ids:
                await session.execute(
                    update(WebhookSubscription)
                    .where(col(WebhookSubscription.id).in_(ids))
                    .values(leased_until=now + LEASE)
                )
        return ids

    async def _send_queue(self, subscription_id: int) -> int:
        """Send one batch of a subscription's queue, oldest first, keeping the lease alive."""
        sent = 0
        lease_until = self.clock() + LEASE
        try:
            for delivery, subscription in await self._next_batch(subscription_id):
                if delivery.created_at <= self.clock() - GIVE_UP_AFTER:
                    await self._expire(delivery)
                    continue
                outcome = await self._send(subscription, delivery)
                sent += 1
                if not await self._record(subscription, delivery, outcome):
                    break
                if lease_until - self.clock() < LEASE / 2:
                    lease_until = self.clock() + LEASE
                    await self._lease(subscription_id, until=lease_until)
        finally:
            await self._release(subscription_id)
        return sent

    async def _next_batch(
        self, subscription_id: int
    ) -> list[tuple[WebhookDelivery, WebhookSubscription]]:
        async with self.session_maker() as session:
            result = await session.execute(
                select(WebhookDelivery, WebhookSubscription)
                .join(
                    WebhookSubscription,
                    col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
                )
                .where(col(WebhookDelivery.subscription_id) == subscription_id)
                .where(col(WebhookDelivery.delivered_at).is_(None))
                .where(col(WebhookDelivery.given_up_at).is_(None))
                .order_by(col(WebhookDelivery.id))
                .limit(self.batch_size)
            )
            return [(d, s) for d, s in result]

    async def _send(self, subscription: WebhookSubscription, delivery: WebhookDelivery) -> Outcome:
        sent_at = self.clock()
        signature = Webhook(subscription.secret).sign(
            msg_id=delivery.message_id, timestamp=sent_at, data=delivery.payload
        )
        request = self.client.build_request(
            "POST",
            subscription.url,
            content=delivery.payload.encode(),
            headers={
                "Content-Type": "application/json",
                "webhook-id": delivery.message_id,
                "webhook-timestamp": str(int(sent_at.timestamp())),
                "webhook-signature": signature,
            },
        )
        try:
            response = await send_with_deadline(
                self.client, request, seconds=self.deadline_seconds, max_bytes=MAX_ANSWER_BYTES
            )
        except AddressNotAllowed as exc:
            _log_detail(subscription, exc)
            return Outcome(delivered=False, final=True, error=NOT_PUBLIC)
        except (httpx.HTTPError, FederationError) as exc:
            _log_detail(subscription, exc)
            return Outcome(delivered=False, error=_told_to_partner(exc))
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(delivered=True, status=status)
        error = f"HTTP {status}"
        if 400 <= status < 500 and status not in RETRYABLE_4XX:
            return Outcome(delivered=False, final=True, status=status, error=error)
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=self.clock())
        return Outcome(delivered=False, status=status, error=error, retry_after=retry_after)

    async def _record(
        self, subscription: WebhookSubscription, delivery: WebhookDelivery, outcome: Outcome
    ) -> bool:
        """Store an attempt; ``True`` to go on with this subscription's next message."""
        now = self.clock()
        values: dict[str, object] = {
            "attempts": delivery.attempts + 1,
            "last_attempt_at": now,
            "last_status": outcome.status,
            "last_error": outcome.error,
        }
        async with self.session_maker() as session, session.begin():
            if outcome.delivered:
                values["delivered_at"] = now
                await _update_delivery(session, delivery, values)
                await _update_subscription(
                    session,
                    subscription,
                    {"consecutive_failures": 0, "next_attempt_at": None, "last_success_at": now},
                )
                return True
            failures = await session.scalar(
                select(WebhookSubscription.consecutive_failures).where(
                    col(WebhookSubscription.id) == subscription.id
                )
            )
            failures = (failures or 0) + 1
            changes: dict[str, object] = {"consecutive_failures": failures}
            if outcome.final:
                values["given_up_at"] = now
            else:
                wait = backoff(failures)
                if outcome.retry_after is not None and outcome.retry_after > wait:
                    wait = outcome.retry_after
                values["next_attempt_at"] = changes["next_attempt_at"] = now + wait
            reason = _disable_reason(subscription, outcome, failures=failures)
            if reason is not None:
                changes.update(disabled_at=now, disabled_reason=reason)
                log.warning("webhook subscription %s disabled: %s", subscription.public_id, reason)
            await _update_delivery(session, delivery, values)
            await _update_subscription(session, subscription, changes)
        return outcome.final and reason is None

    async def _expire(self, delivery: WebhookDelivery) -> None:
        """A message queued a week ago is stale news: given up without sending it."""
        async with self.session_maker() as session, session.begin():
            values = {"given_up_at": self.clock(), "last_error": "expired: unsent for 7 days"}
            await _update_delivery(session, delivery, values)

    async def _release(self, subscription_id: int) -> None:
        await self._lease(subscription_id, until=None)

    async def _lease(self, subscription_id: int, *, until: datetime | None) -> None:
        async with self.session_maker() as session, session.begin():
            await session.execute(
                update(WebhookSubscription)
                .where(col(WebhookSubscription.id) == subscription_id)
                .values(leased_until=until)
            )


def _disable_reason(
    subscription: WebhookSubscription, outcome: Outcome, *, failures: int
) -> str | None:
    where = f"from {subscription.url}"
    if outcome.status == 410:
        return f"The endpoint answered 410 Gone ({where}): it asked not to be sent more."
    if failures >= DISABLE_AFTER_FAILURES:
        return f"{failures} deliveries in a row failed; last: {outcome.error} {where}"[:1000]
    return None


async def _update_delivery(
    session: AsyncSession, delivery: WebhookDelivery, values: dict[str, object]
) -> None:
    await session.execute(
        update(WebhookDelivery).where(col(WebhookDelivery.id) == delivery.id).values(**values)
    )


async def _update_subscription(
    session: AsyncSession, subscription: WebhookSubscription, values: dict[str, object]
) -> None:
    await session.execute(
        update(WebhookSubscription)
        .where(col(WebhookSubscription.id) == subscription.id)
        .values(**values)
    )
