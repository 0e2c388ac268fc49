"""Passwords after the account exists: changing one's own, and resetting a forgotten one.

A reset link (``/password/reset/<token>``) works once: within an hour when asked for on the
"forgot password" page, within a day when an admin makes it for someone (to hand over when
the node has no mail server). Only the token's SHA-256 is stored. A user has one live link at
a time: a new one, or any change of her password, makes the older ones unusable.

"Forgot password" answers the same whether or not the address has an account, and is
throttled (``throttle.reset_request_keys``) per address typed and per client address: the
address's limit is silent (nobody's mailbox is flooded, nothing is said about who exists), the
client's is a 429.

Setting a new password, by either way, logs out every other browser; API tokens and the
calendar feed address keep working (they are revoked on their own pages).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation.storage import utcnow
from node.accounts import throttle
from node.accounts.models import RESET_PREFIX, PasswordChange, PasswordReset, User, WebSession
from node.accounts.service import (
    end_other_web_sessions,
    get_user_by_email,
    hash_password,
    log_in,
    secret_digest,
    void_password_resets,
)
from node.accounts.throttle import LoginThrottled, wait_phrase
from node.audit.service import Actor, record
from node.config import Settings
from node.errors import InvalidInput, NodeError, NotFound, TooManyRequests
from node.mail.service import queue_mail

log = logging.getLogger("ipo_node.accounts")

RESET_LIFETIME = timedelta(hours=1)
ADMIN_RESET_LIFETIME = timedelta(days=1)


class ResetLinkNotFound(NotFound):
    code = "reset_link_not_found"


class ResetLinkClosed(NodeError):
    status_code = 410
    code = "reset_link_closed"


class PasswordResetThrottled(TooManyRequests):
    code = "password_reset_throttled"

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(
            "Too many password reset requests from your network address. Try again in "
            f"{wait_phrase(retry_after)}.",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


def reset_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/password/reset/{token}"


def _user_actor(user: User) -> Actor:
    return Actor(kind="user", label=f"user {user.id}", user_id=user.id)


async def make_reset_link(
    session: AsyncSession,
    settings: Settings,
    *,
    user: User,
    actor: Actor,
    by_admin: bool,
) -> tuple[PasswordReset, str]:
    """A new reset link for ``user``, emailed (queued in this transaction) and returned once;
    her older links stop working."""
    now = utcnow()
    await void_password_resets(session, user_id=user.id)
    await session.execute(
        delete(PasswordReset).where(col(PasswordReset.expires_at) < now - timedelta(days=1))
    )
    assert user.id is not None  # noqa: S101 -- users come from the database
    lifetime = ADMIN_RESET_LIFETIME if by_admin else RESET_LIFETIME
    token = RESET_PREFIX + secrets.token_urlsafe(32)
    row = PasswordReset(
        user_id=user.id, token_hash=secret_digest(token), created_at=now, expires_at=now + lifetime
    )
    session.add(row)
    await session.flush()
    why = (
        f"An admin of {settings.name} made you a link to choose a new password."
        if by_admin
        else f"Someone, we hope you, asked to reset your password on {settings.name}."
    )
    within = "within a day" if by_admin else "within an hour"
    await queue_mail(
        session,
        settings,
        kind="password_reset",
        to=user.email,
        subject=f"Choose a new password for {settings.name}",
        text=(
            f"Hello,\n\n{why}\n\n"
            f"Open this link to choose it. It works once, {within}:\n"
            f"{reset_url(settings, token)}\n\n"
            "If you did not ask for this, ignore this email: your password stays as it is.\n"
        ),
    )
    await record(
        session,
        actor=actor,
        action="password_reset.create",
        object_type="user",
        object_id=user.id,
        detail={"by": "admin" if by_admin else "self"},
    )
    return row, token


async def forgot_password(
    session: AsyncSession, settings: Settings, *, email: str, host: str | None
) -> None:
    """Email a reset link to ``email`` if it is an active account's, within the limits.

    Answers nothing about the account: the caller shows the same page either way. Raises
    ``PasswordResetThrottled`` only for the client address's limit, before counting anything;
    otherwise the counts are written in the caller's transaction."""
    account_key, address_key = throttle.reset_request_keys(settings, email=email, host=host)
    now = utcnow()
    counters = await throttle.lock_counters(session, (account_key, address_key), now=now)
    refused = throttle.refusal(counters, (address_key,), now=now)
    if refused is not None:
        raise PasswordResetThrottled(retry_after=refused.retry_after)
    if throttle.refusal(counters, (account_key,), now=now) is not None:
        await throttle.record_failure(session, counters, (address_key,), now=now)
        log.info("password reset not sent: this address asked too often")
        return
    await throttle.record_failure(session, counters, (account_key, address_key), now=now)
    user = await get_user_by_email(session, email=email)
    if user is None or not user.is_active:
        return
    await make_reset_link(session, settings, user=user, actor=_user_actor(user), by_admin=False)


async def reset_for_token(session: AsyncSession, *, token: str) -> tuple[PasswordReset, User]:
    """The live reset link ``token`` and its user; ``ResetLinkNotFound`` for a link this node
    never made, ``ResetLinkClosed`` for one used, replaced, expired or of a deactivated user."""
    if not token.startswith(RESET_PREFIX) or "\x00" in token:
        raise ResetLinkNotFound("This password reset link is not one of this node's.")
    result = await session.execute(
        select(PasswordReset, User)
        .join(User, col(User.id) == col(PasswordReset.user_id))
        .where(col(PasswordReset.token_hash) == secret_digest(token))
    )
    found = result.one_or_none()
    if found is None:
        raise ResetLinkNotFound("This password reset link is not one of this node's.")
    row, user = found
    if row.used_at is not None or row.expires_at <= utcnow() or not user.is_active:
        raise ResetLinkClosed(
            "This password reset link was already used, replaced by a newer one, or has "
            "expired (links work for an hour)."
        )
    return row, user


async def reset_password(session: AsyncSession, *, token: str, password: str) -> User:
    """Set the password of the link's user and use the link up; every browser she was
    logged in on is logged out."""
    row, user = await reset_for_token(session, token=token)
    now = utcnow()
    claimed: CursorResult[tuple[()]] = await session.execute(  # type: ignore[assignment]
        update(PasswordReset)
        .where(
            col(PasswordReset.id) == row.id,
            col(PasswordReset.used_at).is_(None),
            col(PasswordReset.expires_at) > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise ResetLinkClosed("This password reset link was already used.")
    await set_password(session, user=user, password=password, keep=None, how="reset")
    return user


async def set_password(
    session: AsyncSession, *, user: User, password: str, keep: WebSession | None, how: str
) -> int:
    """Her new password; every browser session but ``keep`` ends, and so do her reset links.
    Returns how many sessions ended."""
    user.password_hash = hash_password(password)
    session.add(user)
    await void_password_resets(session, user_id=user.id)
    ended = await end_other_web_sessions(session, user_id=user.id, keep=keep)
    await record(
        session,
        actor=_user_actor(user),
        action="user.password",
        object_type="user",
        object_id=user.id,
        detail={"how": how, "sessions_ended": ended},
    )
    return ended


@dataclass(frozen=True)
class PasswordChanged:
    """What changing one's password came to: the sessions ended, or why it was refused."""

    sessions_ended: int = 0
    refusal: NodeError | None = None


async def change_password(
    session: AsyncSession,
    settings: Settings,
    *,
    user: User,
    data: PasswordChange,
    keep: WebSession | None,
    host: str | None,
    device_cookie: str | None,
) -> PasswordChanged:
    """Change her own password, proving the current one. A wrong current password counts as a
    failed login (``throttle``), so the caller commits and then answers ``refusal``."""
    checked = await log_in(
        session,
        email=user.email,
        password=data.current_password,
        host=host,
        device_cookie=device_cookie,
        settings=settings,
    )
    if checked.user is None:
        if isinstance(checked.refusal, LoginThrottled):
            return PasswordChanged(refusal=checked.refusal)
        return PasswordChanged(
            refusal=InvalidInput(
                "That is not your current password. Type the one you log in with now.",
                field=["body", "current_password"],
            )
        )
    ended = await set_password(
        session, user=user, password=data.new_password, keep=keep, how="change"
    )
    return PasswordChanged(sessions_ended=ended)
