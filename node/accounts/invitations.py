"""Invitations: how a person gets an account on this node.

An admin invites an email address with a role; the node emails a one-time link
(``/invitations/<token>``) that expires after a week. Opening it, the invitee chooses the name
others see and a password, and is logged in. Only the token's SHA-256 is stored, as for API
tokens, so neither a database dump nor the mail log (the message's text is dropped once sent)
holds a usable link.

    pending --accept--> accepted        (an account with the invitation's email and role)
       |  \\--cancel / a newer invitation to the same address--> cancelled
       \\--a week passes--> expired

Accepting claims the row with one conditional UPDATE, so a link used twice at once makes one
account, never two.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation.storage import utcnow
from node.accounts.models import (
    INVITATION_PREFIX,
    Invitation,
    InvitationAccept,
    InvitationCreate,
    Role,
    User,
    UserCreate,
)
from node.accounts.service import create_user, get_user_by_email, normalize_email, secret_digest
from node.audit.service import Actor, record
from node.config import Settings
from node.errors import Conflict, NodeError, NotFound
from node.mail.service import queue_mail

INVITATION_LIFETIME = timedelta(days=7)
KEEP_CLOSED = timedelta(days=30)
"""How long a used, cancelled or expired invitation (and the address in it) is kept."""


class InvitationNotFound(NotFound):
    code = "invitation_not_found"

    def __init__(self, message: str = "There is no such invitation on this node.") -> None:
        super().__init__(message)


class InvitationClosed(NodeError):
    """The link was used, cancelled, replaced or is past its week."""

    status_code = 410
    code = "invitation_closed"

    def __init__(self, message: str, *, invitation: Invitation | None = None) -> None:
        super().__init__(message)
        self.invitation = invitation


def invitation_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/invitations/{token}"


def _role_words(role: Role) -> str:
    return {
        Role.member: "a member (you can sign up for shifts and see the shared calendar)",
        Role.organizer: "an organizer (you can also post events, calls and forums)",
        Role.admin: "an admin (you can also manage accounts and alliances)",
    }[role]


async def invite(
    session: AsyncSession,
    settings: Settings,
    *,
    data: InvitationCreate,
    inviter: User,
    actor: Actor,
) -> tuple[Invitation, str]:
    """Invite ``data.email`` with ``data.role``: the link is emailed (queued in this
    transaction) and returned once; a pending invitation to the same address stops working."""
    email = normalize_email(data.email)
    if await get_user_by_email(session, email=email) is not None:
        raise Conflict(
            f"{email} already has an account here. To let them in again, reactivate it or "
            "make them a password reset link.",
            field=["body", "email"],
        )
    now = utcnow()
    await session.execute(
        update(Invitation)
        .where(
            col(Invitation.email) == email,
            col(Invitation.accepted_at).is_(None),
            col(Invitation.cancelled_at).is_(None),
        )
        .values(cancelled_at=now)
    )
    await _forget_closed(session)
    token = INVITATION_PREFIX + secrets.token_urlsafe(32)
    invitation = Invitation(
        email=email,
        role=data.role,
        token_hash=secret_digest(token),
        invited_by_id=inviter.id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    session.add(invitation)
    await session.flush()
    who = inviter.display_name.strip() or f"An admin of {settings.name}"
    await queue_mail(
        session,
        settings,
        kind="invitation",
        to=email,
        subject=f"You're invited to {settings.name}",
        text=(
            f"Hello,\n\n{who} invited you to {settings.name}'s site, as "
            f"{_role_words(data.role)}.\n\n"
            "Open this link to choose your name and a password. It works once, within 7 days:\n"
            f"{invitation_url(settings, token)}\n\n"
            "If you did not expect this, ignore this email: nothing happens without the link.\n"
        ),
    )
    await record(
        session,
        actor=actor,
        action="invitation.create",
        object_type="invitation",
        object_id=invitation.id,
        detail={"role": data.role.value},
    )
    return invitation, token


async def _forget_closed(session: AsyncSession) -> None:
    """Drop invitations closed (used, cancelled or expired) more than ``KEEP_CLOSED`` ago:
    the addresses in them are personal data the node no longer needs."""
    before = utcnow() - KEEP_CLOSED
    await session.execute(
        delete(Invitation).where(
            or_(
                col(Invitation.accepted_at) < before,
                col(Invitation.cancelled_at) < before,
                col(Invitation.expires_at) < before,
            )
        )
    )


async def open_invitations(session: AsyncSession) -> list[Invitation]:
    """Invitations not accepted nor cancelled (pending or expired), newest first."""
    result = await session.execute(
        select(Invitation)
        .where(col(Invitation.accepted_at).is_(None), col(Invitation.cancelled_at).is_(None))
        .order_by(col(Invitation.created_at).desc(), col(Invitation.id).desc())
    )
    return list(result.scalars())


async def get_invitation(session: AsyncSession, *, invitation_id: int) -> Invitation:
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None:
        raise InvitationNotFound(f"There is no invitation {invitation_id} on this node.")
    return invitation


async def cancel_invitation(
    session: AsyncSession, *, invitation_id: int, actor: Actor
) -> Invitation:
    """Cancel an invitation: its link stops working at once. Cancelling twice is harmless."""
    invitation = await get_invitation(session, invitation_id=invitation_id)
    if invitation.accepted_at is not None:
        raise Conflict(
            "This invitation was already accepted: deactivate the account instead, on the "
            "accounts page."
        )
    if invitation.cancelled_at is None:
        invitation.cancelled_at = utcnow()
        session.add(invitation)
        await record(
            session,
            actor=actor,
            action="invitation.cancel",
            object_type="invitation",
            object_id=invitation.id,
        )
    return invitation


async def invitation_for_token(session: AsyncSession, *, token: str) -> Invitation:
    """The pending invitation of this link; ``InvitationNotFound`` for a link this node never
    made, ``InvitationClosed`` (with the invitation) for a used, cancelled or expired one."""
    if not token.startswith(INVITATION_PREFIX) or "\x00" in token:
        raise InvitationNotFound("This invitation link is not one of this node's.")
    result = await session.execute(
        select(Invitation).where(col(Invitation.token_hash) == secret_digest(token))
    )
    invitation = result.scalar_one_or_none()
    if invitation is None:
        raise InvitationNotFound("This invitation link is not one of this node's.")
    state = invitation.state(utcnow())
    if state != "pending":
        raise InvitationClosed(_closed_message(state), invitation=invitation)
    return invitation


def _closed_message(state: str) -> str:
    return {
        "accepted": "This invitation was already used to make an account. Log in with its "
        "email and the password chosen then; if it is forgotten, use “Forgot your password?”.",
        "cancelled": "This invitation was cancelled, or replaced by a newer one.",
        "expired": "This invitation has expired: invitation links work for 7 days.",
    }.get(state, "This invitation cannot be used.")


async def accept_invitation(session: AsyncSession, *, token: str, data: InvitationAccept) -> User:
    """Make the account the invitation is for, with the name and password she chose."""
    invitation = await invitation_for_token(session, token=token)
    now = utcnow()
    claimed: CursorResult[tuple[()]] = await session.execute(  # type: ignore[assignment]
        update(Invitation)
        .where(
            col(Invitation.id) == invitation.id,
            col(Invitation.accepted_at).is_(None),
            col(Invitation.cancelled_at).is_(None),
            col(Invitation.expires_at) > now,
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise InvitationClosed(_closed_message("accepted"), invitation=invitation)
    if await get_user_by_email(session, email=invitation.email) is not None:
        raise InvitationClosed(
            "An account with this invitation's email exists already: log in, or use “Forgot "
            "your password?”.",
            invitation=invitation,
        )
    actor = Actor(kind="system", label=f"invitation {invitation.id}")
    user = await create_user(
        session,
        data=UserCreate(
            email=invitation.email,
            display_name=data.display_name,
            role=invitation.role,
            password=data.password,
        ),
        actor=actor,
    )
    invitation.accepted_at = now
    invitation.user_id = user.id
    session.add(invitation)
    await record(
        session,
        actor=Actor(kind="user", label=f"user {user.id}", user_id=user.id),
        action="invitation.accept",
        object_type="invitation",
        object_id=invitation.id,
        detail={"user_id": user.id, "role": invitation.role.value},
    )
    return user


async def inviter_name(session: AsyncSession, *, invitation: Invitation) -> str | None:
    """Who to ask for a new invitation: the inviter's name, if she is still an active admin."""
    if invitation.invited_by_id is None:
        return None
    inviter = await session.get(User, invitation.invited_by_id)
    if inviter is None or not inviter.is_active or inviter.role is not Role.admin:
        return None
    return inviter.display_name.strip() or None
