"""Accounts: passwords, bearer tokens, calendar feed secrets, browser sessions, and users.

Secrets (tokens, feed secrets, session ids) are random, shown to their owner once, and stored
only as their SHA-256, so a database dump does not hold a usable credential. Passwords use
Argon2id. Each kind of secret opens only its own door: a bearer token never reads the feed,
a feed secret never authenticates anything else.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation.storage import utcnow
from node.accounts import throttle
from node.accounts.models import (
    FEED_SECRET_PREFIX,
    ApiToken,
    CalendarFeedSecret,
    PasswordReset,
    Role,
    User,
    UserCreate,
    UserUpdate,
    WebSession,
)
from node.accounts.passwords import password_hasher
from node.audit.service import SYSTEM, Actor, record
from node.config import Settings
from node.errors import Conflict, InvalidInput, NodeError, NotAuthenticated, NotFound

TOKEN_PREFIX = "ipo_"  # noqa: S105 -- a prefix, not a secret
_SELECTOR_BYTES = 8  # 16 hex characters: finds the row, is not what proves anything
_VERIFIER_BYTES = 32  # 256 bits, the part that is the secret
_FEED_SECRET = re.compile(
    re.escape(FEED_SECRET_PREFIX)
    + rf"(?P<selector>[0-9a-f]{{{2 * _SELECTOR_BYTES}}})(?P<verifier>[A-Za-z0-9_-]{{43}})"
)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the email is unknown, so a login takes as long either way.

    Made on first use, not at import: hashing takes real time and memory by design."""
    return hasher.hash("not-a-real-password")


class UserNotFound(NotFound):
    code = "user_not_found"


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _id(user: User) -> int:
    if user.id is None:
        raise ValueError("user has no id yet: flush it first")
    return user.id


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def get_user_by_email(session: AsyncSession, *, email: str) -> User | None:
    if "\x00" in email:  # no address holds one, and PostgreSQL cannot compare text with one
        return None
    result = await session.execute(select(User).where(col(User.email) == normalize_email(email)))
    return result.scalar_one_or_none()


async def get_user(session: AsyncSession, *, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"No user {user_id} on this node.")
    return user


async def list_users(session: AsyncSession) -> list[User]:
    result = await session.execute(select(User).order_by(col(User.id)))
    return list(result.scalars())


async def count_admins(session: AsyncSession) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(User)
        .where(col(User.role) == Role.admin, col(User.is_active))
    )
    return int(result.scalar_one())


async def create_user(session: AsyncSession, *, data: UserCreate, actor: Actor) -> User:
    email = normalize_email(data.email)
    if await get_user_by_email(session, email=email) is not None:
        raise Conflict(f"A user with email {email} already exists.", field=["body", "email"])
    user = User(
        email=email,
        display_name=data.display_name,
        role=data.role,
        password_hash=hash_password(data.password),
    )
    session.add(user)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        detail={"role": user.role.value},
    )
    return user


async def update_user(
    session: AsyncSession, *, user_id: int, data: UserUpdate, actor: Actor
) -> User:
    user = await get_user(session, user_id=user_id)
    changes = data.model_dump(exclude_unset=True)
    demoting = "role" in changes and changes["role"] != Role.admin
    deactivating = changes.get("is_active") is False and user.is_active
    if user.role == Role.admin and (demoting or deactivating) and await count_admins(session) <= 1:
        raise Conflict(
            "This is the node's last admin: make someone else an admin first.",
            field=["role" if demoting else "is_active"],
        )
    if deactivating and actor.user_id is not None and actor.user_id == user.id:
        raise Conflict(
            "You cannot deactivate your own account; another admin can.", field=["is_active"]
        )
    if "password" in changes:
        user.password_hash = hash_password(changes.pop("password"))
        await revoke_all_credentials(session, user_id=user.id)
    for key, value in changes.items():
        setattr(user, key, value)
    if changes.get("is_active") is False:
        await revoke_all_credentials(session, user_id=user.id)
    session.add(user)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="user.update",
        object_type="user",
        object_id=user.id,
        detail={"fields": sorted(data.model_dump(exclude_unset=True))},
    )
    return user


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User:
    """The active user with these credentials, or ``NotAuthenticated``."""
    user = await get_user_by_email(session, email=email)
    hasher = password_hasher()
    try:
        hasher.verify(user.password_hash if user else _dummy_hash(hasher), password)
    except (VerificationError, InvalidHashError):
        raise NotAuthenticated("Wrong email or password.") from None
    if user is None or not user.is_active:
        raise NotAuthenticated("Wrong email or password.")
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    return user


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt came to: the user, or the error to answer once it is committed."""

    user: User | None
    refusal: NodeError | None = None
    device_cookie: str | None = None
    """A new ``ipo_device`` value for the browser, after a success."""

    def user_or_raise(self) -> User:
        if self.user is None:
            raise self.refusal or NotAuthenticated("Wrong email or password.")
        return self.user


async def log_in(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    host: str | None,
    device_cookie: str | None,
    settings: Settings,
) -> LoginOutcome:
    """One login attempt, throttled per account and per address (``node.accounts.throttle``).

    Never raises for wrong credentials: the failure it counts must be committed, so the caller
    commits, then answers ``outcome.refusal`` (401, or 429 with Retry-After)."""
    keys = throttle.keys_for(settings, email=email, host=host, device_cookie=device_cookie)
    now = utcnow()
    counters = await throttle.lock_counters(session, keys, now=now)
    refused = throttle.refusal(counters, keys, now=now)
    if refused is not None:
        return LoginOutcome(user=None, refusal=refused)
    try:
        user = await authenticate(session, email=email, password=password)
    except NotAuthenticated as wrong:
        await throttle.record_failure(session, counters, keys, now=now)
        return LoginOutcome(user=None, refusal=wrong)
    await throttle.forgive(session, counters, keys, now=now)
    return LoginOutcome(
        user=user, device_cookie=throttle.new_device_cookie(settings, email=user.email)
    )


async def create_api_token(
    session: AsyncSession, *, user: User, name: str, actor: Actor
) -> tuple[ApiToken, str]:
    """A new bearer token for ``user``; the plain token is returned once and never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=_id(user), token_hash=secret_digest(plain), name=name)
    session.add(token)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="token.create",
        object_type="user",
        object_id=user.id,
        detail={"token_id": token.id},
    )
    return token, plain


async def revoke_api_token(session: AsyncSession, *, user: User, token_id: int) -> None:
    token = await session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"No token {token_id} of yours.")
    token.revoked_at = utcnow()
    session.add(token)


async def user_for_token(session: AsyncSession, *, plain: str) -> User | None:
    if not plain.startswith(TOKEN_PREFIX):
        return None
    result = await session.execute(
        select(User)
        .join(ApiToken, col(ApiToken.user_id) == col(User.id))
        .where(col(ApiToken.token_hash) == secret_digest(plain), col(ApiToken.revoked_at).is_(None))
    )
    user = result.scalar_one_or_none()
    return user if user is not None and user.is_active else None


async def revoke_exposed_token(session: AsyncSession, *, plain: str, where: str) -> bool:
    """Revoke an API token found where anyone may read it (``where`` says where, for the
    audit log); True if it was a live token."""
    if not plain.startswith(TOKEN_PREFIX):
        return False
    result = await session.execute(
        select(ApiToken).where(
            col(ApiToken.token_hash) == secret_digest(plain), col(ApiToken.revoked_at).is_(None)
        )
    )
    token = result.scalar_one_or_none()
    if token is None:
        return False
    token.revoked_at = utcnow()
    session.add(token)
    await record(
        session,
        actor=SYSTEM,
        action="token.revoke",
        object_type="user",
        object_id=token.user_id,
        detail={"token_id": token.id, "reason": f"exposed in {where}"},
    )
    return True


async def get_feed_secret(session: AsyncSession, *, user: User) -> CalendarFeedSecret | None:
    """The user's calendar feed secret (its row: the secret itself is not kept), if any."""
    result = await session.execute(
        select(CalendarFeedSecret).where(col(CalendarFeedSecret.user_id) == _id(user))
    )
    return result.scalar_one_or_none()


async def make_feed_secret(
    session: AsyncSession, *, user: User, actor: Actor
) -> tuple[CalendarFeedSecret, str]:
    """A new calendar feed secret for ``user``, replacing hers (which stops working at once).

    The plain secret is returned once and never stored."""
    # Lock her account row so that two clicks at once replace, not collide (PostgreSQL; SQLite
    # writes one transaction at a time anyway).
    await session.execute(select(User.id).where(col(User.id) == _id(user)).with_for_update())
    row = await get_feed_secret(session, user=user)
    replacing = row is not None
    row = row or CalendarFeedSecret(user_id=_id(user), selector="", verifier_hash="")
    selector = secrets.token_hex(_SELECTOR_BYTES)
    verifier = secrets.token_urlsafe(_VERIFIER_BYTES)
    row.selector = selector
    row.verifier_hash = secret_digest(verifier)
    row.created_at = utcnow()
    session.add(row)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="calendar_feed.replace" if replacing else "calendar_feed.create",
        object_type="user",
        object_id=user.id,
    )
    return row, FEED_SECRET_PREFIX + selector + verifier


async def revoke_feed_secret(session: AsyncSession, *, user: User, actor: Actor) -> None:
    """Delete the user's feed secret: her feed address answers 401 from now on."""
    row = await get_feed_secret(session, user=user)
    if row is None:
        raise NotFound("You have no calendar feed address.")
    await session.delete(row)
    await record(
        session, actor=actor, action="calendar_feed.revoke", object_type="user", object_id=user.id
    )


async def user_for_feed_secret(session: AsyncSession, *, plain: str) -> User | None:
    """The active user whose feed secret this is, or None (unknown, replaced, revoked)."""
    parts = _FEED_SECRET.fullmatch(plain)
    if parts is None:
        return None
    result = await session.execute(
        select(User, CalendarFeedSecret)
        .join(CalendarFeedSecret, col(CalendarFeedSecret.user_id) == col(User.id))
        .where(col(CalendarFeedSecret.selector) == parts["selector"])
    )
    row = result.one_or_none()
    if row is None:
        return None
    user, feed = row
    if not hmac.compare_digest(feed.verifier_hash, secret_digest(parts["verifier"])):
        return None
    return user if user.is_active else None


async def start_web_session(
    session: AsyncSession, *, user: User, lifetime: timedelta
) -> tuple[str, WebSession]:
    """A new browser session; returns the cookie value (shown once) and the row."""
    cookie = secrets.token_urlsafe(32)
    row = WebSession(
        session_hash=secret_digest(cookie),
        user_id=_id(user),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + lifetime,
    )
    session.add(row)
    await session.flush()
    return cookie, row


async def resolve_web_session(
    session: AsyncSession, *, cookie: str
) -> tuple[User, WebSession] | None:
    result = await session.execute(
        select(User, WebSession)
        .join(WebSession, col(WebSession.user_id) == col(User.id))
        .where(
            col(WebSession.session_hash) == secret_digest(cookie),
            col(WebSession.expires_at) > utcnow(),
        )
    )
    row = result.one_or_none()
    if row is None or not row[0].is_active:
        return None
    return row[0], row[1]


async def end_web_session(session: AsyncSession, *, cookie: str) -> None:
    result = await session.execute(
        select(WebSession).where(col(WebSession.session_hash) == secret_digest(cookie))
    )
    row = result.scalar_one_or_none()
    if row is not None:
        await session.delete(row)


async def revoke_all_credentials(session: AsyncSession, *, user_id: int | None) -> None:
    """End every session, token, feed secret and password reset link of a user (password set
    by an admin, deactivation, erasure)."""
    await void_password_resets(session, user_id=user_id)
    await session.execute(
        update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    await session.execute(
        delete(CalendarFeedSecret).where(col(CalendarFeedSecret.user_id) == user_id)
    )
    await end_other_web_sessions(session, user_id=user_id)


async def void_password_resets(session: AsyncSession, *, user_id: int | None) -> None:
    """Make every unused reset link of a user unusable (her password changed, or she left)."""
    await session.execute(
        update(PasswordReset)
        .where(col(PasswordReset.user_id) == user_id, col(PasswordReset.used_at).is_(None))
        .values(used_at=utcnow())
    )


async def end_other_web_sessions(
    session: AsyncSession, *, user_id: int | None, keep: WebSession | None = None
) -> int:
    """Log a user out of every browser but ``keep`` (hers, after she changed her password);
    returns how many sessions ended."""
    result = await session.execute(select(WebSession).where(col(WebSession.user_id) == user_id))
    ended = 0
    for row in result.scalars():
        if keep is None or row.id != keep.id:
            await session.delete(row)
            ended += 1
    return ended


def check_password_strength(password: str) -> None:
    if len(password) < 10:
        raise InvalidInput("Use a password of at least 10 characters.", field=["password"])
