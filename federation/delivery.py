"""The delivery worker: sends what the outbox holds, reliably, in order, once per peer.

One round (``DeliveryWorker.run_once``)::

    claim up to N peers with due deliveries   (a lease on the peer row: FOR UPDATE SKIP LOCKED)
    for each claimed peer, concurrently:
        send its pending deliveries in enqueue order, each signed afresh
          2xx                       -> delivered; the peer's failure count resets
          4xx but 401/408/429       -> failed (final); shown to the admin; go on to the next
          3xx, 401/408/429, 5xx,
          network                   -> the peer backs off (schedule or Retry-After); stop
          past expires_at           -> expired; go on to the next
        release the lease

The schedule after consecutive failures: 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 6 h, 12 h,
then daily, each +-20 % jitter; ``Retry-After`` wins when it asks for longer. A delivery still
failing 7 days after it was enqueued is given up (failed, retryable by an admin). After 10
consecutive failures a peer counts as paused (the circuit breaker the admin sees); it is still
tried on the schedule, so a node offline for a weekend gets everything when it returns.

A worker killed mid-send loses nothing: the delivery is still pending and the peer's lease
expires, so another round sends it again; the receiver's dedup on activity id makes the second
copy harmless.

The transaction that makes an activity's last delivery final (delivered, failed or expired)
also drops the personal data from its stored body (``federation.retention``).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from federation.client import AddressNotAllowed, send_with_deadline
from federation.errors import FederationError
from federation.keys import Keyring, NodeKey
from federation.models import AllianceState, Delivery, DeliveryState, OutboxActivity, Peer
from federation.peers import SENT_WHILE_SUSPENDED
from federation.retention import forget_delivered
from federation.signing import SignatureAuth
from federation.storage import utcnow

log = logging.getLogger(__name__)

RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(days=1),
)
JITTER = 0.2
GIVE_UP_AFTER = timedelta(days=7)
CIRCUIT_BREAKER_THRESHOLD = 10
MAX_RETRY_AFTER = timedelta(days=1)
LEASE = timedelta(seconds=60)
MAX_ANSWER_BYTES = 64 * 1024
TRANSIENT_4XX = frozenset({401, 408, 429})
ACTIVITY_CONTENT_TYPE = "application/json"


def backoff(failures: int, *, rng: random.Random | None = None) -> timedelta:
    """The wait after ``failures`` consecutive failures (>= 1), with +-20 % jitter."""
    base = RETRY_SCHEDULE[min(failures, len(RETRY_SCHEDULE)) - 1]
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    return base * factor


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        wait = when - now
    return max(timedelta(0), min(wait, MAX_RETRY_AFTER))


def is_paused(peer: Peer) -> bool:
    """The circuit breaker: a peer that failed this many times in a row is shown as paused."""
    return peer.consecutive_failures >= CIRCUIT_BREAKER_THRESHOLD


@dataclass(frozen=True)
class Outcome:
    """What one send attempt came to."""

    delivered: bool
    final: bool = False
    status: int | None = None
    error: str | None = None
    retry_after: timedelta | None = None


@dataclass
class DeliveryWorker:
    """Sends due deliveries. One per process; several processes may share a database."""

    session_maker: async_sessionmaker[AsyncSession]
    client: httpx.AsyncClient
    keyring: Callable[[], Keyring]
    node_id: str
    max_peers_per_round: int = 64
    batch_size: int = 100
    deadline_seconds: float = 10.0
    clock: Callable[[], datetime] = utcnow
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Other outboxes the application drains in the same loop (its webhooks): each is called
    # once per round after the federation round and returns how many sends it made. They
    # share this loop, its wake-up and its idle wait, so the node runs one worker whatever
    # it sends; federation stays ignorant of what they are.
    drains: list[Callable[[], Awaitable[int]]] = field(default_factory=list)

    # ---- the loop ---------------------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event, *, idle_seconds: float = 1.0) -> None:
        """Deliver until ``stop`` is set; sleep ``idle_seconds`` between empty rounds."""
        while not stop.is_set():
            # Cleared before the round, not after it: a wake-up set while the round runs (a
            # request committed something it may have missed) then ends the idle wait at once.
            self.wake.clear()
            try:
                busy = await self.run_once()
            except Exception:  # one bad round must not stop delivery for good
                log.exception("delivery round failed")
                busy = 0
            busy += await self.run_drains()
            if busy:
                continue
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
            await asyncio.wait(waiters, timeout=idle_seconds, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def run_once(self) -> int:
        """One round: claim due peers and deliver to them concurrently; returns sends made."""
        peer_ids = await self.claim_due_peers()
        if not peer_ids:
            return 0
        counts = await asyncio.gather(*(self._deliver_to_peer(pid) for pid in peer_ids))
        return sum(counts)

    async def run_drains(self) -> int:
        """One round of each of ``drains``; a failing one is logged and does not stop the rest."""
        sent = 0
        for drain in self.drains:
            try:
                sent += await drain()
            except Exception:  # like a bad round: log it, try again next round
                log.exception("delivery drain %r failed", drain)
        return sent

    # ---- claiming ---------------------------------------------------------------------------

    async def claim_due_peers(self) -> list[int]:
        """Lease the peers that have pending deliveries and are not backing off."""
        now = self.clock()
        async with self.session_maker() as session, session.begin():
            has_pending = (
                select(Delivery.id)
                .where(col(Delivery.peer_id) == col(Peer.id))
                .where(col(Delivery.state) == DeliveryState.pending)
                .exists()
            )
            # A peer we suspend gets only what a suspension lets through (its notice).
            has_notice = (
                select(Delivery.id)
                .join(OutboxActivity, col(OutboxActivity.id) == col(Delivery.activity_pk))
                .where(col(Delivery.peer_id) == col(Peer.id))
                .where(col(Delivery.state) == DeliveryState.pending)
                .where(col(OutboxActivity.object_type).in_(SENT_WHILE_SUSPENDED))
                .exists()
            )
            query = (
                select(Peer.id)
                .where((col(Peer.state) != AllianceState.suspended) | has_notice)
                .where((col(Peer.next_attempt_at).is_(None)) | (col(Peer.next_attempt_at) <= now))
                .where((col(Peer.lease_until).is_(None)) | (col(Peer.lease_until) < now))
                .where(has_pending)
                .order_by(col(Peer.next_attempt_at).asc().nulls_first(), col(Peer.id))
                .limit(self.max_peers_per_round)
                .with_for_update(skip_locked=True, of=Peer)
            )
            peer_ids = [pid for pid in (await session.execute(query)).scalars() if pid is not None]
            if peer_ids:
                await session.execute(
                    update(Peer).where(col(Peer.id).in_(peer_ids)).values(lease_until=now + LEASE)
                )
        return peer_ids

    # ---- sending ----------------------------------------------------------------------------

    async def _deliver_to_peer(self, peer_id: int) -> int:
        """Send one batch of this peer's queue, in order; then hand the peer back.

        Successes are recorded together (one transaction per run of them), so a fast peer
        costs one commit per batch rather than per delivery. Giving the peer back after each
        batch lets other workers take their share of a long queue.
        """
        sent = 0
        lease_until = self.clock() + LEASE
        delivered: dict[int, int] = {}  # delivery id -> the 2xx status the peer answered
        expired: list[int] = []
        try:
            for delivery, activity, peer in await self._next_batch(peer_id):
                if delivery.expires_at is not None and delivery.expires_at <= self.clock():
                    expired.append(_id(delivery))
                    continue
                outcome = await self._send(peer, activity)
                sent += 1
                if outcome.delivered:
                    delivered[_id(delivery)] = outcome.status or 200
                else:
                    await self._record_successes(peer_id, delivered, expired)
                    delivered, expired = {}, []
                    if not await self._record(delivery, peer, outcome):
                        break
                if lease_until - self.clock() < LEASE / 2:
                    lease_until = await self._extend_lease(peer_id)
        finally:
            await self._record_successes(peer_id, delivered, expired)
            await self._release(peer_id)
        return sent

    async def _record_successes(
        self, peer_id: int, delivered: dict[int, int], expired: list[int]
    ) -> None:
        if not delivered and not expired:
            return
        now = self.clock()
        async with self.session_maker() as session, session.begin():
            for status in set(delivered.values()):
                await session.execute(
                    update(Delivery)
                    .where(col(Delivery.id).in_([d for d, s in delivered.items() if s == status]))
                    .values(
                        state=DeliveryState.delivered,
                        attempts=col(Delivery.attempts) + 1,
                        last_attempt_at=now,
                        last_status=status,
                        last_error=None,
                        finished_at=now,
                    )
                )
            if delivered:
                await session.execute(
                    update(Peer)
                    .where(col(Peer.id) == peer_id)
                    .values(consecutive_failures=0, next_attempt_at=None, last_success_at=now)
                )
            if expired:
                await session.execute(
                    update(Delivery)
                    .where(col(Delivery.id).in_(expired))
                    .values(state=DeliveryState.expired, finished_at=now, last_error="expired")
                )
            await forget_delivered(session, delivery_ids=[*delivered, *expired])

    async def _next_batch(self, peer_id: int) -> list[tuple[Delivery, OutboxActivity, Peer]]:
        async with self.session_maker() as session:
            result = await session.execute(
                select(Delivery, OutboxActivity, Peer)
                .join(OutboxActivity, col(OutboxActivity.id) == col(Delivery.activity_pk))
                .join(Peer, col(Peer.id) == col(Delivery.peer_id))
                .where(col(Delivery.peer_id) == peer_id)
                .where(col(Delivery.state) == DeliveryState.pending)
                .where(
                    (col(Peer.state) != AllianceState.suspended)
                    | col(OutboxActivity.object_type).in_(SENT_WHILE_SUSPENDED)
                )
                .order_by(col(Delivery.id))
                .limit(self.batch_size)
            )
            return [(d, a, p) for d, a, p in result]

    def _signing_key(self, activity: OutboxActivity) -> NodeKey:
        keyring = self.keyring()
        if activity.signing_kid:
            for key in keyring.keys:
                if key.kid == activity.signing_kid:
                    return key
        return keyring.active

    async def _send(self, peer: Peer, activity: OutboxActivity) -> Outcome:
        key = self._signing_key(activity)
        auth = SignatureAuth(key, keyid=f"{self.node_id}#{key.kid}")
        request = self.client.build_request(
            "POST",
            peer.inbox_url,
            content=activity.body.encode(),
            headers={"Content-Type": ACTIVITY_CONTENT_TYPE},
        )
        try:
            response = await send_with_deadline(
                self.client,
                request,
                auth=auth,
                seconds=self.deadline_seconds,
                max_bytes=MAX_ANSWER_BYTES,
            )
        except AddressNotAllowed as exc:
            # The peer's name now points at an address we never connect to: retrying will not
            # help, an admin must look (and can retry once it is fixed).
            return Outcome(delivered=False, final=True, error=f"{exc}"[:500])
        except (httpx.HTTPError, FederationError) as exc:
            # Unreachable, too slow, oversized answer: all worth retrying.
            return Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(delivered=True, status=status)
        reason = _error_reason(response)
        if 400 <= status < 500 and status not in TRANSIENT_4XX:
            return Outcome(delivered=False, final=True, status=status, error=reason)
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=self.clock())
        return Outcome(delivered=False, status=status, error=reason, retry_after=retry_after)

    async def _record(self, delivery: Delivery, peer: Peer, outcome: Outcome) -> bool:
        """Store a failed outcome; ``True`` to go on with this peer's next delivery."""
        now = self.clock()
        async with self.session_maker() as session, session.begin():
            values: dict[str, object] = {
                "attempts": delivery.attempts + 1,
                "last_attempt_at": now,
                "last_status": outcome.status,
                "last_error": outcome.error,
            }
            if outcome.delivered or outcome.final:
                values["state"] = (
                    DeliveryState.delivered if outcome.delivered else DeliveryState.failed
                )
                values["finished_at"] = now
            await session.execute(
                update(Delivery).where(col(Delivery.id) == delivery.id).values(**values)
            )
            finished = [_id(delivery)] if "state" in values else []
            if not outcome.delivered and not outcome.final:
                # Everything queued for this peer for a week is given up at once, not one a day.
                given_up = await session.execute(
                    update(Delivery)
                    .where(col(Delivery.peer_id) == peer.id)
                    .where(col(Delivery.state) == DeliveryState.pending)
                    .where(col(Delivery.created_at) <= now - GIVE_UP_AFTER)
                    .values(
                        state=DeliveryState.failed,
                        finished_at=now,
                        last_error=f"gave up after 7 days: {outcome.error}"[:1000],
                    )
                    .returning(col(Delivery.id))
                )
                finished.extend(pk for pk in given_up.scalars() if pk is not None)
            await forget_delivered(session, delivery_ids=finished)
            if outcome.final:
                await session.execute(
                    update(Peer).where(col(Peer.id) == peer.id).values(last_error=outcome.error)
                )
                return True
            failures = await session.scalar(
                select(Peer.consecutive_failures).where(col(Peer.id) == peer.id)
            )
            failures = (failures or 0) + 1
            wait = backoff(failures)
            if outcome.retry_after is not None and outcome.retry_after > wait:
                wait = outcome.retry_after
            await session.execute(
                update(Peer)
                .where(col(Peer.id) == peer.id)
                .values(
                    consecutive_failures=failures,
                    next_attempt_at=now + wait,
                    last_error=outcome.error,
                )
            )
            log.info(
                "delivery to %s failed (%s); retrying in %s",
                peer.node_id,
                outcome.error,
                wait,
                extra={"peer": peer.node_id, "failures": failures},
            )
            return False

    async def _extend_lease(self, peer_id: int) -> datetime:
        lease_until = self.clock() + LEASE
        async with self.session_maker() as session, session.begin():
            await session.execute(
                update(Peer).where(col(Peer.id) == peer_id).values(lease_until=lease_until)
            )
        return lease_until

    async def _release(self, peer_id: int) -> None:
        async with self.session_maker() as session, session.begin():
            await session.execute(
                update(Peer).where(col(Peer.id) == peer_id).values(lease_until=None)
            )


def _id(delivery: Delivery) -> int:
    if delivery.id is None:
        raise ValueError("a delivery read from the database has an id")
    return delivery.id


def _error_reason(response: httpx.Response) -> str:
    """The peer's own error message when it sent our JSON error shape, else the status."""
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return f"{response.status_code} {error.get('code', '')}: {error['message']}"[:500]
    except ValueError:
        pass
    if response.is_redirect:
        where = response.headers.get("location", "")[:200]
        return f"{response.status_code} {response.reason_phrase} to {where} (not followed)"
    return f"{response.status_code} {response.reason_phrase}"
