"""Login, logout, the caller's own account and tokens, and user management for admins."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from node.accounts import service
from node.accounts.cookies import set_login_cookies
from node.accounts.models import (
    LoginRequest,
    LoginResponse,
    TokenCreate,
    TokenCreated,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from node.accounts.throttle import DEVICE_COOKIE
from node.audit.service import record
from node.db import session_scope
from node.deps import SESSION_COOKIE, AdminUser, CurrentUser, RowId, SessionDep, SettingsDep
from node.errors import ERROR_RESPONSES, ErrorResponse

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


@router.patch("/users/{user_id}", response_model=UserPublic)
async def update_user(
    user_id: RowId, body: UserUpdate, principal: AdminUser, session: SessionDep
) -> UserPublic:
    """Change a user's role, name, password or active flag (admins only).

    Deactivating a user or changing their password ends all their sessions and tokens.
    """
    user = await service.update_user(session, user_id=user_id, data=body, actor=principal.actor)
    return UserPublic.model_validate(user, from_attributes=True)
