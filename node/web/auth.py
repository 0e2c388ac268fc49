"""Login and logout pages (the front door, ``/``, is the public home: ``public_home``).

The login form has no session yet to carry a CSRF token, so it uses a double-submit token: a
random value in a SameSite cookie and the same value in the form. A site that cannot read our
cookies cannot make the two match, so it cannot log a victim into an account of its choosing.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from node.accounts import service as accounts
from node.accounts.cookies import set_login_cookies
from node.accounts.throttle import DEVICE_COOKIE, LoginThrottled
from node.deps import SESSION_COOKIE, SessionDep, SettingsDep
from node.web.deps import PageUser, PageVisitor
from node.web.rendering import page_router, redirect, render

router = page_router()

LOGIN_CSRF_COOKIE = "ipo_login_csrf"


def safe_next(target: str | None) -> str:
    """Only same-site paths: never send a user who just logged in to another site."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/calendar"


def _login_page(
    request: Request, *, next_url: str, email: str = "", error: str | None = None, status: int = 200
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"login_csrf": token, "next_url": next_url, "email": email, "error": error},
        status_code=status,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.get("/login")
async def login_page(request: Request, principal: PageVisitor, next: str | None = None) -> Response:
    if principal is not None:
        return redirect(safe_next(next))
    return _login_page(request, next_url=safe_next(next))


@router.post("/login")
async def log_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    login_csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    next_url = safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(login_csrf, expected):
        return _login_page(
            request,
            next_url=next_url,
            email=email,
            error="The form expired. Please try again.",
            status=403,
        )
    outcome = await accounts.log_in(
        session,
        email=email,
        password=password,
        host=request.client.host if request.client else None,
        device_cookie=request.cookies.get(DEVICE_COOKIE),
        settings=settings,
    )
    if outcome.user is None:
        # Answered, not raised: the request's session commits the failure it counted.
        if isinstance(outcome.refusal, LoginThrottled):
            page = _login_page(
                request, next_url=next_url, email=email, error=outcome.refusal.message, status=429
            )
            page.headers["Retry-After"] = str(outcome.refusal.retry_after)
            return page
        return _login_page(
            request,
            next_url=next_url,
            email=email,
            error="That email and password do not match an active account.",
            status=401,
        )
    cookie, _ = await accounts.start_web_session(
        session, user=outcome.user, lifetime=timedelta(days=settings.session_days)
    )
    response = redirect(next_url)
    set_login_cookies(
        response, session_cookie=cookie, device_cookie=outcome.device_cookie, settings=settings
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def log_out(request: Request, principal: PageUser, session: SessionDep) -> Response:
    del principal  # required: the CSRF check runs while resolving it
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await accounts.end_web_session(session, cookie=cookie)
    response = redirect("/login", notice="You are logged out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
