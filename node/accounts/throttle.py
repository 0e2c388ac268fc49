"""Login throttling: wrong passwords slow down the account they aim at and the address they
come from, in the database, so every ``serve`` process of a node sees the same counts.

The policy, with the production defaults (settings ``login_*``):

- **Per account** (the email as typed, normalized; unknown emails too, so a refusal says
  nothing about who has an account): 5 wrong passwords in a row lock it for 30 s; each
  further one doubles the lock (60 s, 2 min, ...) up to 15 min.
- **Per client address** (an IPv6 address counts as its /64, which one machine usually holds
  whole): 20 failures, on any accounts, lock the address the same way, up to 1 h.
- While locked, every attempt is refused with 429 and ``Retry-After`` *before* the password is
  checked, a correct one too: guessing stops, and no hashing is spent on it. Refused attempts
  do not count, so asking again while locked makes the wait no longer.
- A successful login clears its account's count (not its address's: one member's own login
  must not reset a guesser sharing the address). A count left quiet for as long as its cap
  (15 min for an account, 1 h for an address) after its last lock ends is forgotten.
- **Known browsers.** A successful login also gives the browser a device cookie
  (``ipo_device``: a random id and an HMAC binding it to the account, OWASP's "device
  cookie" defence). A login presenting a valid one for the account it names is counted under
  that browser instead of the account: its owner is not locked out by someone else's
  guesses, and a guesser cannot forge one without the node's secret.

So an attacker cannot lock a member out of the browser she logs in with at all, and can hold
an account locked for others only while it keeps failing: at most 15 minutes per failure
once the account is past its free failures, with its own address slowing to one try an hour
(20 failures, then 30 s doubling to 1 h). Many addresses can lock an account for new
browsers for longer; the per-address limit bounds how fast each of them can guess.

Each attempt locks its two rows (``SELECT ... FOR UPDATE`` on PostgreSQL, always in the same
order; SQLite's single writer serializes attempts anyway) until the attempt commits, so
concurrent guesses are counted one after another rather than all passing the check at once.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from node.accounts.models import LoginThrottle
from node.config import Settings
from node.errors import TooManyRequests

log = logging.getLogger("ipo_node.accounts")

ACCOUNT, ADDRESS, DEVICE = "account", "address", "device"
RESET_ACCOUNT, RESET_ADDRESS = "reset_account", "reset_address"
DEVICE_COOKIE = "ipo_device"
DEVICE_COOKIE_DAYS = 365
_MAX_DOUBLINGS = 32  # 30 s x 2^32 is past any cap; the exponent never needs to grow further
_PURGE_BATCH = 100


class LoginThrottled(TooManyRequests):
    """Too many failed logins for this account or from this address: wait ``retry_after`` s."""

    code = "login_throttled"

    def __init__(self, *, kind: str, retry_after: int) -> None:
        what = (
            "failed logins from your network address"
            if kind == ADDRESS
            else "wrong passwords for this account"
        )
        super().__init__(
            f"Too many {what}. Try again in {wait_phrase(retry_after)}.",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


def wait_phrase(seconds: int) -> str:
    """``45`` -> "45 seconds", ``130`` -> "3 minutes" (rounded up: never too early)."""
    if seconds < 90:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    return f"{math.ceil(seconds / 60)} minutes"


@dataclass(frozen=True)
class Key:
    """One counter: an account or an address, hashed, with the limits that apply to it."""

    kind: str
    hash: str
    free_failures: int
    first_lock: timedelta
    cap: timedelta


def client_address(host: str | None) -> str:
    """The address a client is counted under: IPv4 as is, IPv6 by its /64."""
    try:
        ip = ipaddress.ip_address(host or "")
    except ValueError:
        return host or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def _mac(settings: Settings, message: str) -> str:
    return hmac.new(settings.secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def _account(email: str) -> str:
    return email.strip().lower()


def new_device_cookie(settings: Settings, *, email: str) -> str:
    """The ``ipo_device`` value for a browser that just logged in as ``email``."""
    device = secrets.token_urlsafe(18)
    return f"{device}.{_mac(settings, f'{DEVICE}:{_account(email)}:{device}')}"


def _known_device(settings: Settings, *, email: str, cookie: str | None) -> str | None:
    """The device id in ``cookie`` if it was given to a browser that logged in as ``email``."""
    device, _, mac = (cookie or "").partition(".")
    expected = _mac(settings, f"{DEVICE}:{_account(email)}:{device}")
    return device if device and hmac.compare_digest(mac, expected) else None


def keys_for(
    settings: Settings, *, email: str, host: str | None, device_cookie: str | None = None
) -> tuple[Key, Key]:
    """The counters of one attempt: the account's (or the known browser's) and the address's."""
    first_lock = timedelta(seconds=settings.login_lockout_seconds)

    def key(kind: str, value: str, free: int, cap_seconds: int) -> Key:
        digest = _mac(settings, f"{kind}:{value}")
        return Key(kind, digest, free, first_lock, timedelta(seconds=cap_seconds))

    device = _known_device(settings, email=email, cookie=device_cookie)
    account = (DEVICE, f"{_account(email)}:{device}") if device else (ACCOUNT, _account(email))
    return (
        key(
            *account,
            settings.login_account_failures,
            settings.login_account_lockout_max_seconds,
        ),
        key(
            ADDRESS,
            client_address(host),
            settings.login_address_failures,
            settings.login_address_lockout_max_seconds,
        ),
    )


def reset_request_keys(settings: Settings, *, email: str, host: str | None) -> tuple[Key, Key]:
    """The counters of a "forgot password" request, apart from the login counters: every
    request counts (it sends an email), per address typed and per client address.

    An address typed gets 3 reset emails, then one per 10 minutes doubling to one an hour, so
    nobody's mailbox is flooded; a client address may ask 10 times, then once a minute doubling
    to once an hour. Unknown addresses count the same, so a refusal says nothing about who has
    an account.
    """

    def key(kind: str, value: str, free: int, first_lock: int, cap: int) -> Key:
        digest = _mac(settings, f"{kind}:{value}")
        return Key(kind, digest, free, timedelta(seconds=first_lock), timedelta(seconds=cap))

    return (
        key(RESET_ACCOUNT, _account(email), 3, 600, 3600),
        key(RESET_ADDRESS, client_address(host), 10, 60, 3600),
    )


async def lock_counters(
    session: AsyncSession, keys: Sequence[Key], *, now: datetime
) -> dict[str, LoginThrottle]:
    """The counters of ``keys``, created if new and locked until the attempt commits."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    ordered = sorted(keys, key=lambda k: k.hash)  # one order for everyone: no deadlock
    for key in ordered:
        await session.execute(
            insert(LoginThrottle)
            .values(key_hash=key.hash, kind=key.kind, failures=0, forget_at=now)
            .on_conflict_do_nothing(index_elements=["key_hash"])
        )
    result = await session.execute(
        select(LoginThrottle)
        .where(col(LoginThrottle.key_hash).in_([key.hash for key in ordered]))
        .order_by(col(LoginThrottle.key_hash))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.key_hash: row for row in result.scalars()}


def refusal(
    counters: dict[str, LoginThrottle], keys: Sequence[Key], *, now: datetime
) -> LoginThrottled | None:
    """The 429 for an attempt while one of its counters is locked (the longest wait)."""
    waits = [
        (math.ceil((locked - now).total_seconds()), key.kind)
        for key in keys
        if (locked := counters[key.hash].locked_until) is not None and locked > now
    ]
    if not waits:
        return None
    retry_after, kind = max(waits)
    return LoginThrottled(kind=kind, retry_after=max(1, retry_after))


async def record_failure(
    session: AsyncSession, counters: dict[str, LoginThrottle], keys: Sequence[Key], *, now: datetime
) -> None:
    """Count a wrong password against every key, locking those past their free failures."""
    for key in keys:
        row = counters[key.hash]
        failures = (row.failures if row.forget_at > now else 0) + 1
        row.failures = failures
        row.locked_until = None
        if failures >= key.free_failures:
            doublings = min(failures - key.free_failures, _MAX_DOUBLINGS)
            lock = min(key.cap, key.first_lock * 2**doublings)
            row.locked_until = now + lock
            log.warning(
                "throttled: %s locked for %d s after %d counted attempts",
                key.kind,
                lock.total_seconds(),
                failures,
            )
        row.forget_at = (row.locked_until or now) + key.cap
        session.add(row)
    await _purge_forgotten(session, keys, now=now)


async def forgive(
    session: AsyncSession, counters: dict[str, LoginThrottle], keys: Sequence[Key], *, now: datetime
) -> None:
    """After a successful login: the account (or device) starts afresh; the address's count
    stays."""
    for key in keys:
        row = counters[key.hash]
        if key.kind != ADDRESS or row.forget_at <= now:
            await session.delete(row)


async def _purge_forgotten(session: AsyncSession, keys: Sequence[Key], *, now: datetime) -> None:
    """Delete a batch of forgotten counters, skipping any another attempt holds."""
    stale = (
        select(col(LoginThrottle.key_hash))
        .where(
            col(LoginThrottle.forget_at) < now,
            col(LoginThrottle.key_hash).not_in([key.hash for key in keys]),
        )
        .limit(_PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    await session.execute(delete(LoginThrottle).where(col(LoginThrottle.key_hash).in_(stale)))
