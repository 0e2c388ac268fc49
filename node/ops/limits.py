"""Requests refused before a handler reads anything: oversized bodies, NUL in the address.

A declared ``Content-Length`` over the limit is refused at once; a body streamed without one is
counted as it arrives and cut off when it passes the limit. Either way the answer is 413 JSON.

A NUL character (``%00``) in the path or the query is refused with 400: no page, id or search
here can contain one, and PostgreSQL cannot store or compare text holding one, so letting it
through would turn a typo or a probe into a 500.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.errors import HtmlErrorPage, error_response, wants_html

NUL_IN_URL = "The address contains a NUL character (%00); no page here takes one."

Refusal = Callable[[Scope, int], Response]
"""The 413 answer for a request over ``limit`` bytes."""


def json_refusal(scope: Scope, limit: int) -> Response:
    del scope
    return error_response(
        413, "payload_too_large", f"The request body is over the {limit}-byte limit."
    )


class BodySizeLimit:
    """ASGI middleware; ``limit_for(path)`` gives the byte limit for each path, ``refusal``
    the answer (JSON by default)."""

    def __init__(
        self, app: ASGIApp, *, limit_for: Callable[[str], int], refusal: Refusal = json_refusal
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self.refusal(scope, limit)(scope, receive, send)
                return
        received = 0
        refused = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not response_started:
                    # Answer now, and tell the app the client went away so it stops reading.
                    refused = True
                    await self.refusal(scope, limit)(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return  # the 413 is already sent; whatever the app says now goes nowhere
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)


class RefuseNulInUrl:
    """ASGI middleware: 400 for a NUL in the path or query, as a page to a browser
    (``html_page``) and as JSON to everything else."""

    def __init__(self, app: ASGIApp, *, html_page: HtmlErrorPage) -> None:
        self.app = app
        self.html_page = html_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            request = Request(scope, receive)
            if wants_html(request):
                response = self.html_page(request, 400, NUL_IN_URL)
            else:
                response = error_response(400, "bad_request", NUL_IN_URL)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"%00" in query or b"\x00" in query
