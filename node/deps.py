"""Dependency aliases for routers: sessions, settings, and who is asking.

A request is authenticated by a bearer token (scripts, the API) or by the session cookie (the
browser). Cookie-authenticated requests that change state must carry the session's CSRF token
in ``X-CSRF-Token`` (or a ``csrf_token`` form field for HTML forms); bearer requests cannot be
forged cross-site and need none.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from node.accounts import service as accounts
from node.accounts.models import Role, User
from node.audit.service import Actor
from node.config import Settings
from node.db import session_scope
from node.errors import NotAuthenticated, PermissionDenied

SESSION_COOKIE = "ipo_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with session_scope(request.app.state.session_maker) as session:
        yield session
    # Committed: whatever the request enqueued for allies (or partners' webhooks) can go out
    # now, not at the next poll. Reads enqueue nothing, and waking the worker after each one
    # would make it query the delivery tables once per read for nothing.
    if request.method not in SAFE_METHODS:
        request.app.state.federation.wake_delivery()


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


@dataclass(frozen=True)
class Principal:
    """The authenticated user of a request and how they proved it."""

    user: User
    via: str  # "token" or "cookie"
    csrf_token: str | None = None

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def actor(self) -> Actor:
        # Labelled by id, never by email: the audit log is append-only and outlives erasure.
        return Actor(kind="user", label=f"user {self.user.id}", user_id=self.user.id)


async def _authenticate(request: Request, session: AsyncSession) -> Principal | None:
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials:
            raise NotAuthenticated("Send the token as `Authorization: Bearer <token>`.")
        user = await accounts.user_for_token(session, plain=credentials.strip())
        if user is None:
            raise NotAuthenticated("This token is unknown, revoked, or its user is inactive.")
        return Principal(user=user, via="token")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        if request.method not in SAFE_METHODS and _is_form(request):
            # Receive the form (an upload may take minutes) before the session lookup opens a
            # transaction: on SQLite it would hold the node's one connection meanwhile.
            await request.form()
        resolved = await accounts.resolve_web_session(session, cookie=cookie)
        if resolved is not None:
            user, web_session = resolved
            principal = Principal(user=user, via="cookie", csrf_token=web_session.csrf_token)
            if request.method not in SAFE_METHODS:
                await _check_csrf(request, principal)
            return principal
    return None


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    )


async def _check_csrf(request: Request, principal: Principal) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and _is_form(request):
        form = await request.form()  # already received (``_authenticate``)
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not secrets.compare_digest(sent, principal.csrf_token or ""):
        raise PermissionDenied(
            "Missing or wrong CSRF token: reload the page and try again.",
        )


async def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    return await _authenticate(request, session)


async def current_principal(request: Request, session: SessionDep) -> Principal:
    principal = await _authenticate(request, session)
    if principal is None:
        raise NotAuthenticated()
    return principal


def require_role(role: Role) -> object:
    async def _check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.role.includes(role):
            raise PermissionDenied(f"This needs the {role.value} role; you are {principal.role}.")
        return principal

    return Depends(_check)


MaybeUser = Annotated[Principal | None, Depends(optional_principal)]
CurrentUser = Annotated[Principal, Depends(current_principal)]
OrganizerUser = Annotated[Principal, require_role(Role.organizer)]
AdminUser = Annotated[Principal, require_role(Role.admin)]


RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
"""A row id in an address (API or page): 1 to 2^31 - 1, what an INTEGER primary key holds on
PostgreSQL and SQLite alike. Any other number is a 422 saying so, never a 500 from the driver."""
