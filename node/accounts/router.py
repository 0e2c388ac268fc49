"""Login, logout, the caller's own account and tokens, and user management for admins."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from federation.storage import utcnow
from node.accounts import invitations, recovery, service
from node.accounts.cookies import set_login_cookies
from node.accounts.models import (
    ForgotPassword,
    Invitation,
    InvitationAccept,
    InvitationAcceptRequest,
    InvitationCreate,
    InvitationCreated,
    InvitationPublic,
    LoginRequest,
    LoginResponse,
    PasswordChange,
    PasswordResetRequest,
    ResetLinkCreated,
    TokenCreate,
    TokenCreated,
    UserCreate,
    UserPublic,
    UserUpdate,
    WebSession,
)
from node.accounts.throttle import DEVICE_COOKIE
from node.audit.service import record
from node.db import session_scope
from node.deps import (
    SESSION_COOKIE,
    AdminUser,
    CurrentUser,
    Principal,
    RowId,
    SessionDep,
    SettingsDep,
)
from node.errors import ERROR_RESPONSES, Conflict, ErrorResponse, error_response

router = APIRouter(prefix="/api/v1", tags=["accounts"], responses=ERROR_RESPONSES)


@router.post(
    "/auth/login",
    response_model=LoginResponse,
    responses={
        429: {
            "model": ErrorResponse,
            "description": "Too many failed logins for this account or from this address "
            "(`login_throttled`); `Retry-After` says how many seconds to wait.",
        }
    },
)
async def login(
    body: LoginRequest, request: Request, response: Response, settings: SettingsDep
) -> LoginResponse:
    """Log in with email and password; sets an HTTP-only session cookie.

    Wrong passwords are throttled per account and per client address: past the limit every
    attempt, a right one too, is answered 429 with `Retry-After` until the lock ends."""
    # Its own unit of work, not the request's session: a failed attempt must be counted (and
    # committed) even though the answer is an error.
    async with session_scope(request.app.state.session_maker) as session:
        outcome = await service.log_in(
            session,
            email=body.email,
            password=body.password,
            host=request.client.host if request.client else None,
            device_cookie=request.cookies.get(DEVICE_COOKIE),
            settings=settings,
        )
        if outcome.user is not None:
            cookie, web_session = await service.start_web_session(
                session, user=outcome.user, lifetime=timedelta(days=settings.session_days)
            )
    user = outcome.user_or_raise()
    set_login_cookies(
        response, session_cookie=cookie, device_cookie=outcome.device_cookie, settings=settings
    )
    return LoginResponse(
        user=UserPublic.model_validate(user, from_attributes=True),
        csrf_token=web_session.csrf_token,
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    request: Request, principal: CurrentUser, session: SessionDep, response: Response
) -> None:
    """End this browser session (bearer tokens are revoked under /me/tokens)."""
    del principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await service.end_web_session(session, cookie=cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=UserPublic)
async def me(principal: CurrentUser) -> UserPublic:
    """The account making the request."""
    return UserPublic.model_validate(principal.user, from_attributes=True)


@router.post("/me/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
async def create_token(
    body: TokenCreate, principal: CurrentUser, session: SessionDep
) -> TokenCreated:
    """A new bearer token for scripts. The token is in this response only."""
    token, plain = await service.create_api_token(
        session, user=principal.user, name=body.name, actor=principal.actor
    )
    assert token.id is not None  # noqa: S101 -- set by flush
    return TokenCreated(id=token.id, name=token.name, token=plain)


@router.delete("/me/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: RowId, principal: CurrentUser, session: SessionDep) -> None:
    """Revoke one of your tokens; it stops working at once."""
    await service.revoke_api_token(session, user=principal.user, token_id=token_id)
    await record(
        session,
        actor=principal.actor,
        action="token.revoke",
        object_type="user",
        object_id=principal.user.id,
        detail={"token_id": token_id},
    )


@router.get("/users", response_model=list[UserPublic])
async def list_users(principal: AdminUser, session: SessionDep) -> list[UserPublic]:
    """Every account on this node (admins only)."""
    del principal
    users = await service.list_users(session)
    return [UserPublic.model_validate(u, from_attributes=True) for u in users]


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, principal: AdminUser, session: SessionDep) -> UserPublic:
    """Create an account with a role (admins only)."""
    user = await service.create_user(session, data=body, actor=principal.actor)
    return UserPublic.model_validate(user, from_attributes=True)


@router.get("/users/{user_id}", response_model=UserPublic)
async def get_user(user_id: RowId, principal: AdminUser, session: SessionDep) -> UserPublic:
    del principal
    user = await service.get_user(session, user_id=user_id)
    return UserPublic.model_validate(user, from_attributes=True)


@router.patch(
    "/users/{user_id}",
    response_model=UserPublic,
    responses={
        404: {"model": ErrorResponse, "description": "No such user (`user_not_found`)."},
        409: {
            "model": ErrorResponse,
            "description": "Refused (`conflict`): deactivating yourself, or demoting or "
            "deactivating the node's last active admin.",
        },
    },
)
async def update_user(
    user_id: RowId, body: UserUpdate, principal: AdminUser, session: SessionDep
) -> UserPublic:
    """Change a user's role, name, password or active flag (admins only).

    Deactivating a user or changing their password ends all their sessions, tokens, calendar
    feed address and password reset links; a deactivated user cannot log in until reactivated.
    """
    user = await service.update_user(session, user_id=user_id, data=body, actor=principal.actor)
    return UserPublic.model_validate(user, from_attributes=True)


def _mail_is_set(settings: SettingsDep) -> bool:
    return bool(settings.smtp_host)


def _invitation_public(invitation: Invitation) -> InvitationPublic:
    assert invitation.id is not None  # noqa: S101 -- rows come from the database
    return InvitationPublic(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        state=invitation.state(utcnow()),
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


@router.post(
    "/invitations",
    response_model=InvitationCreated,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {
            "model": ErrorResponse,
            "description": "That address already has an account (`conflict`).",
        }
    },
)
async def create_invitation(
    body: InvitationCreate, principal: AdminUser, session: SessionDep, settings: SettingsDep
) -> InvitationCreated:
    """Invite an email address with a role (admins only).

    The invitee gets an email with a one-time link that works for 7 days; a pending
    invitation to the same address stops working. With no SMTP server set, the link is in
    this response (`url`), once."""
    invitation, token = await invitations.invite(
        session, settings, data=body, inviter=principal.user, actor=principal.actor
    )
    url = None if _mail_is_set(settings) else invitations.invitation_url(settings, token)
    return InvitationCreated(**_invitation_public(invitation).model_dump(), url=url)


@router.get("/invitations", response_model=list[InvitationPublic])
async def list_invitations(principal: AdminUser, session: SessionDep) -> list[InvitationPublic]:
    """Invitations not yet accepted nor cancelled, newest first: `pending` or `expired`."""
    del principal
    return [_invitation_public(i) for i in await invitations.open_invitations(session)]


@router.delete(
    "/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        404: {"model": ErrorResponse, "description": "No such invitation."},
        409: {"model": ErrorResponse, "description": "It was accepted already."},
    },
)
async def cancel_invitation(
    invitation_id: RowId, principal: AdminUser, session: SessionDep
) -> None:
    """Cancel an invitation: its link stops working at once."""
    await invitations.cancel_invitation(session, invitation_id=invitation_id, actor=principal.actor)


@router.post(
    "/auth/invitation",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        404: {"model": ErrorResponse, "description": "Not a link of this node."},
        410: {
            "model": ErrorResponse,
            "description": "The invitation was used, cancelled or has expired "
            "(`invitation_closed`): ask an admin for a new one.",
        },
    },
)
async def accept_invitation(body: InvitationAcceptRequest, session: SessionDep) -> UserPublic:
    """Accept an invitation: makes the account, with the invitation's email and role and the
    name and password given. Then log in with `/auth/login`."""
    user = await invitations.accept_invitation(
        session,
        token=body.token,
        data=InvitationAccept(display_name=body.display_name, password=body.password),
    )
    return UserPublic.model_validate(user, from_attributes=True)


@router.post(
    "/users/{user_id}/password-reset",
    response_model=ResetLinkCreated,
    status_code=status.HTTP_201_CREATED,
    responses={
        404: {"model": ErrorResponse, "description": "No such user (`user_not_found`)."},
        409: {"model": ErrorResponse, "description": "The account is deactivated."},
    },
)
async def make_reset_link(
    user_id: RowId, principal: AdminUser, session: SessionDep, settings: SettingsDep
) -> ResetLinkCreated:
    """Make a one-time link for a user to choose a new password (admins only), working for a
    day. It is emailed to her; with no SMTP server set, it is in this response (`url`), once."""
    user = await service.get_user(session, user_id=user_id)
    if not user.is_active:
        raise Conflict("This account is deactivated: reactivate it first.")
    row, token = await recovery.make_reset_link(
        session, settings, user=user, actor=principal.actor, by_admin=True
    )
    url = None if _mail_is_set(settings) else recovery.reset_url(settings, token)
    return ResetLinkCreated(expires_at=row.expires_at, url=url)


async def current_web_session(
    request: Request, session: SessionDep, principal: Principal
) -> WebSession | None:
    """The browser session making the request, if it came with the session cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if principal.via != "cookie" or not cookie:
        return None
    resolved = await service.resolve_web_session(session, cookie=cookie)
    return resolved[1] if resolved else None


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        422: {
            "model": ErrorResponse,
            "description": "The current password is wrong, or the new one breaks the rules "
            "(10 to 256 characters); `details` names the field.",
        },
        429: {
            "model": ErrorResponse,
            "description": "Too many wrong passwords (`login_throttled`); see `Retry-After`.",
        },
    },
)
async def change_password(
    body: PasswordChange,
    request: Request,
    principal: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Change your own password. Every other browser session is logged out; your API tokens
    and calendar feed address keep working. A wrong current password counts as a failed
    login."""
    changed = await recovery.change_password(
        session,
        settings,
        user=principal.user,
        data=body,
        keep=await current_web_session(request, session, principal),
        host=request.client.host if request.client else None,
        device_cookie=request.cookies.get(DEVICE_COOKIE),
    )
    if changed.refusal is not None:
        # Answered, not raised: the request's session commits the failure it counted.
        refusal = changed.refusal
        return error_response(
            refusal.status_code, refusal.code, refusal.message, refusal.details, refusal.headers
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/password-forgot",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        429: {
            "model": ErrorResponse,
            "description": "Too many requests from this address (`password_reset_throttled`); "
            "see `Retry-After`.",
        }
    },
)
async def forgot_password(
    body: ForgotPassword, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """Ask for a password reset link by email. The answer is 202 whether or not the address
    has an account (it says nothing about who has one); the link works once, for an hour."""
    await recovery.forgot_password(
        session,
        settings,
        email=body.email,
        host=request.client.host if request.client else None,
    )
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        404: {"model": ErrorResponse, "description": "Not a link of this node."},
        410: {
            "model": ErrorResponse,
            "description": "The link was used, replaced or has expired (`reset_link_closed`).",
        },
    },
)
async def reset_password(body: PasswordResetRequest, session: SessionDep) -> None:
    """Choose a new password with a reset link's token; every browser session of the account
    is logged out. Then log in with `/auth/login`."""
    await recovery.reset_password(session, token=body.token, password=body.password)
