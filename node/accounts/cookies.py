"""The cookies a successful login sets, the same for the API's login and the login page."""

from __future__ import annotations

from starlette.responses import Response

from node.accounts.throttle import DEVICE_COOKIE, DEVICE_COOKIE_DAYS
from node.config import Settings
from node.deps import SESSION_COOKIE


def set_login_cookies(
    response: Response, *, session_cookie: str, device_cookie: str | None, settings: Settings
) -> None:
    """The session (HTTP-only, ``session_days``) and, if given, the browser's device cookie
    that keeps its owner clear of others' failed logins (``node.accounts.throttle``)."""
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie,
        max_age=settings.session_days * 86400,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
    )
    if device_cookie is not None:
        response.set_cookie(
            DEVICE_COOKIE,
            device_cookie,
            max_age=DEVICE_COOKIE_DAYS * 86400,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="lax",
            path="/",
        )
