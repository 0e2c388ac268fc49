"""Per-client request budgets: a token bucket per key, in this process's memory.

Each key (a partner client id) has a bucket holding at most ``burst`` tokens, refilled at
``per_minute / 60`` tokens a second; a request takes one token or is refused with the number of
seconds until one is back (the ``Retry-After`` the client gets with its 429).

The buckets live in one process: a node run as several ``serve`` processes gives each client
that many budgets. That is an accepted limit: a ward group's node runs one web process, and the
limit exists to keep one partner's runaway script from starving the others, not for billing.
Idle buckets are dropped once full again, so the dictionary holds only recently active clients.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """The answer for one request: allowed or not, and what to tell the client."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until a token is back; 0 when allowed
    reset: int  # whole seconds until the bucket is full again


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """``limiter.take(key)`` spends one request of ``key``'s budget, if there is one."""

    def __init__(
        self,
        *,
        per_minute: int,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1 or burst < 1:
            raise ValueError("per_minute and burst must be at least 1")
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def __len__(self) -> int:
        """How many keys have a bucket in memory now."""
        return len(self._buckets)

    def take(self, key: str) -> Verdict:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            allowed, retry_after = True, 0
        else:
            allowed, retry_after = False, max(1, math.ceil((1.0 - bucket.tokens) / self.rate))
        self._forget_full_buckets(now)
        return Verdict(
            allowed=allowed,
            limit=self.burst,
            remaining=int(bucket.tokens),
            retry_after=retry_after,
            reset=math.ceil((self.burst - bucket.tokens) / self.rate),
        )

    def _forget_full_buckets(self, now: float) -> None:
        # Cheap enough at this scale (a handful of partners): a full bucket is the same as none.
        if len(self._buckets) < 1024:
            return
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.burst:
                del self._buckets[key]
