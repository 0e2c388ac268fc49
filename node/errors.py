"""Errors a request can get, and the one handler that turns them into JSON.

Every error body has one shape, documented in the OpenAPI schema as ``ErrorResponse``::

    {"error": {"code": "member_not_found", "message": "No member 42 on this node.",
               "details": [{"loc": ["body", "email"], "msg": "..."}]}}

The tree::

    NodeError (400 bad_request)
    ├── NotAuthenticated (401)        no or bad credentials; carries WWW-Authenticate
    ├── PermissionDenied (403)        authenticated, but this role may not do this
    ├── NotFound (404)                each domain subclasses it: EventNotFound, ...
    ├── Conflict (409)                a unique value already taken, a state that forbids it
    ├── PayloadTooLarge (413)
    ├── InvalidInput (422)            a rule the schema cannot express (end before start, ...)
    ├── TooManyRequests (429)         over a rate limit; carries Retry-After
    └── ServiceUnavailable (503)

``federation.errors.FederationError`` carries its own status and code and is rendered by
the same handler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from federation.errors import FederationError
from node.ops.logging import redact_path
from schemas.base import problem_in_words

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        401: "Not authenticated: no, bad or revoked credentials.",
        403: "Authenticated, but not allowed (role, or CSRF token missing).",
        413: "Request body too large.",
        422: "The request is not valid; `details` says where.",
    }.items()
}
"""The errors any API route may answer: every router documents them (``responses=``)."""


class NodeError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: Sequence[str | int] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = [ErrorDetail(loc=list(field), msg=message)] if field else []
        self.headers = headers


class NotAuthenticated(NodeError):
    status_code = 401
    code = "not_authenticated"

    def __init__(self, message: str = "Log in, or send a bearer token.") -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="ipo-node"'})


class PermissionDenied(NodeError):
    status_code = 403
    code = "permission_denied"


class NotFound(NodeError):
    status_code = 404
    code = "not_found"


class Conflict(NodeError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(NodeError):
    status_code = 413
    code = "payload_too_large"


class InvalidInput(NodeError):
    status_code = 422
    code = "invalid_input"


class TooManyRequests(NodeError):
    status_code = 429
    code = "rate_limited"


class ServiceUnavailable(NodeError):
    status_code = 503
    code = "service_unavailable"


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Sequence[ErrorDetail] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=list(details)))
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code, headers=headers)


_HTTP_CODES = {
    404: ("not_found", "Nothing here: check the path."),
    405: ("method_not_allowed", "This path does not accept that method."),
    413: ("payload_too_large", "The request body is too large."),
}


# Paths that always answer JSON, whatever the client accepts: machines call them.
MACHINE_PATHS = ("/api/", "/federation/", "/oauth/", "/.well-known/")

HtmlErrorPage = Callable[[Request, int, str], Response]


def wants_html(request: Request) -> bool:
    """A browser asking for a page (Accept prefers text/html), not a machine path."""
    if request.url.path.startswith(MACHINE_PATHS):
        return False
    accept = request.headers.get("accept", "").lower()
    html, json = accept.find("text/html"), accept.find("application/json")
    return html >= 0 and (json < 0 or html < json)


def install_error_handlers(app: FastAPI, *, html_page: HtmlErrorPage | None = None) -> None:
    """Register the one handler for every error kind.

    ``html_page`` renders routing errors (an unknown page, a wrong method) as an HTML page
    for browsers; everything else, and every machine path, answers JSON.
    """

    @app.exception_handler(NodeError)
    async def _node_error(_request: Request, exc: NodeError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(FederationError)
    async def _federation_error(_request: Request, exc: FederationError) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, exc.code, exc.message, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [_validation_detail(error) for error in exc.errors()]
        first = details[0] if details else None
        message = f"{field_name(first.loc)}: {first.msg}" if first else "The request is not valid."
        return error_response(422, "validation_failed", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code, default = _HTTP_CODES.get(exc.status_code, ("http_error", "Request failed."))
        message = exc.detail if isinstance(exc.detail, str) and exc.detail else default
        if message in ("Not Found", "Method Not Allowed"):
            message = default
        if html_page is not None and wants_html(request):
            return html_page(request, exc.status_code, message)
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, message, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, redact_path(request.url.path))
        return error_response(500, "internal_error", "Something broke on this node; it is logged.")


def field_name(loc: Sequence[str | int]) -> str:
    """Where a problem is, as the caller wrote it: ``end_date``, ``location.venue``,
    ``shifts[0].capacity``; a query parameter says so (``limit (query)``)."""
    parts = list(loc)
    where = ""
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where = str(parts.pop(0))
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    if not name:
        return "The request body" if where in ("body", "") else f"The {where}"
    return f"{name} ({where})" if where not in ("body", "") else name


def _validation_detail(error: dict[str, Any]) -> ErrorDetail:
    loc = [part for part in error.get("loc", ()) if isinstance(part, str | int)]
    return ErrorDetail(loc=loc, msg=problem_in_words(error))
