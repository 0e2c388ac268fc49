"""How every page is rendered, and how page routes turn errors into pages.

Pages share one layout (``base.html``) and one way to show a one-off notice after a form post
(a short-lived cookie read by the next page: post, redirect, get). Page routes use
:class:`PageRoute`, which turns the node's typed errors into an HTML page with the same status
the API would answer, and an anonymous visitor into a redirect to the login page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from federation.errors import FederationError
from node.accounts.models import Role
from node.errors import NodeError, NotAuthenticated
from node.formatting import FILTERS
from node.members.models import phone_display
from schemas.base import problem_in_words

NOTICE_COOKIE = "ipo_notice"
TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@cache
def templates() -> Jinja2Templates:
    environment = Jinja2Templates(directory=TEMPLATES_DIR)
    environment.env.globals["role_enum"] = Role
    # One way to say a time on every page (node.formatting).
    environment.env.filters.update(FILTERS)
    # A stored phone (E.164) as people write it: (773) 555-0100.
    environment.env.globals["phone"] = phone_display
    return environment


class LoginRequired(NotAuthenticated):
    """A page needs a logged-in user; page routes answer it with a redirect to /login."""


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """The page ``template`` with the layout's context: who is logged in, CSRF token, notice."""
    principal = getattr(request.state, "principal", None)
    notice = request.cookies.get(NOTICE_COOKIE)
    response = templates().TemplateResponse(
        request,
        template,
        {
            "node_name": request.app.state.settings.name,
            "principal": principal,
            "csrf_token": principal.csrf_token if principal else None,
            "notice": unquote(notice) if notice else None,
            **(context or {}),
        },
        status_code=status_code,
    )
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


def redirect(url: str, *, notice: str | None = None) -> RedirectResponse:
    """303 to ``url`` after a successful form post, with a notice for the next page."""
    response = RedirectResponse(url, status_code=303)
    if notice:
        response.set_cookie(
            NOTICE_COOKIE, quote(notice), max_age=60, httponly=True, samesite="lax", path="/"
        )
    return response


def field_errors(exc: ValidationError | RequestValidationError) -> dict[str, str]:
    """Validation errors in plain words, keyed by form field name, for showing beside each
    field (``form`` for a problem of the whole form)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
        errors.setdefault(".".join(loc) or "form", problem_in_words(error))
    return errors


def _back_url(request: Request) -> str | None:
    """The page the visitor came from, if it is one of this node's (a link, not a script:
    the CSP runs no inline script, so no ``history.back()``)."""
    referer = urlsplit(request.headers.get("referer", ""))
    path = referer.path
    if referer.netloc != request.url.netloc or not path.startswith("/"):
        return None
    if path.startswith(("//", "/\\")):  # another site, to a browser
        return None
    if path == request.url.path and referer.query == request.url.query:
        return None
    return path + (f"?{referer.query}" if referer.query else "")


def error_page(request: Request, *, status_code: int, title: str, message: str) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"title": title, "message": message, "back_url": _back_url(request)},
        status_code=status_code,
    )


_TITLES = {
    400: "That did not work",
    403: "Not allowed",
    404: "Not found",
    409: "That cannot be done now",
    410: "Gone",
    413: "Too large",
    422: "Please check what you entered",
    429: "Slow down",
    503: "Try again soon",
}


class PageRoute(APIRoute):
    """A route that answers with HTML pages, errors included."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except NotAuthenticated:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                if request.method != "GET":
                    target = "/"
                return redirect(f"/login?next={quote(target, safe='')}")
            except (NodeError, FederationError) as exc:
                # The shared-work services refuse with federation's errors (NotYours, ...).
                title = _TITLES.get(exc.status_code, "Something went wrong")
                return error_page(
                    request, status_code=exc.status_code, title=title, message=exc.message
                )
            except RequestValidationError as exc:
                problems = "; ".join(f"{k}: {v}" for k, v in field_errors(exc).items())
                return error_page(request, status_code=422, title=_TITLES[422], message=problems)

        return page_handler


def page_router() -> APIRouter:
    """A router for pages: HTML errors, and left out of the API's OpenAPI schema."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)
