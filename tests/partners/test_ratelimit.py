"""The token bucket behind the partner API's 429s, on a clock the test moves."""

from __future__ import annotations

import pytest

from node.ops.ratelimit import TokenBucketLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


class TestTokenBucket:
    def test_a_full_burst_then_refusal_with_the_wait(self, clock: Clock) -> None:
        limiter = TokenBucketLimiter(per_minute=60, burst=3, clock=clock)
        verdicts = [limiter.take("pc_a") for _ in range(4)]
        assert [v.allowed for v in verdicts] == [True, True, True, False]
        assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
        assert verdicts[-1].retry_after == 1  # one request a second
        assert verdicts[0].retry_after == 0

    def test_refills_at_the_rate_and_never_beyond_the_burst(self, clock: Clock) -> None:
        limiter = TokenBucketLimiter(per_minute=6, burst=2, clock=clock)  # one per 10 s
        assert limiter.take("pc_a").allowed
        assert limiter.take("pc_a").allowed
        refused = limiter.take("pc_a")
        assert not refused.allowed
        assert refused.retry_after == 10
        clock.now += 9.5
        assert not limiter.take("pc_a").allowed
        clock.now += 0.5
        assert limiter.take("pc_a").allowed
        clock.now += 3600
        assert [limiter.take("pc_a").allowed for _ in range(3)] == [True, True, False]

    def test_keys_are_independent(self, clock: Clock) -> None:
        limiter = TokenBucketLimiter(per_minute=1, burst=1, clock=clock)
        assert limiter.take("pc_a").allowed
        assert not limiter.take("pc_a").allowed
        assert limiter.take("pc_b").allowed

    def test_reset_says_when_the_bucket_is_full_again(self, clock: Clock) -> None:
        limiter = TokenBucketLimiter(per_minute=60, burst=10, clock=clock)
        for _ in range(10):
            verdict = limiter.take("pc_a")
        assert verdict.reset == 10

    def test_a_clock_going_backwards_adds_nothing(self, clock: Clock) -> None:
        limiter = TokenBucketLimiter(per_minute=60, burst=1, clock=clock)
        assert limiter.take("pc_a").allowed
        clock.now -= 100
        assert not limiter.take("pc_a").allowed

    def test_idle_full_buckets_are_forgotten(self, clock: Clock) -> None:
        limiter = TokenBucketLimiter(per_minute=60, burst=1, clock=clock)
        for n in range(1100):
            limiter.take(f"pc_{n}")
        clock.now += 5
        limiter.take("pc_new")
        assert len(limiter) == 1

    def test_refuses_a_zero_budget(self) -> None:
        with pytest.raises(ValueError, match="at least 1"):
            TokenBucketLimiter(per_minute=0, burst=1)
