"""Requests refused before a handler reads anything: oversized bodies, NUL characters.

A declared ``Content-Length`` over the limit is refused at once; a body streamed without one is
counted as it arrives and cut off when it passes the limit. Either way the answer is 413 JSON.

A NUL character in the path, the query or a JSON or form body is refused with 400: no page,
id, search or field here can contain one, and PostgreSQL cannot store or compare text holding
one, so letting it through would turn a typo or a probe into a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.errors import HtmlErrorPage, error_response, wants_html

NUL_IN_URL = "The address contains a NUL character (%00); no page here takes one."
NUL_IN_BODY = "The request contains a NUL character (\\u0000 or %00); no field here takes one."
FEDERATION_INBOX = "/federation/inbox"

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


class RefuseNul:
    """ASGI middleware: 400 for a NUL in the path, the query, or a JSON or form body (as a
    page to a browser, ``html_page``, and as JSON to everything else).

    No field here takes a NUL, and PostgreSQL cannot store one: a NUL that reached a handler
    was a 500 from the driver. A body is scanned as it streams in (a JSON ``\\u0000`` escape,
    a form's ``%00``, or a raw NUL byte), and the app is told the client left, as
    :class:`BodySizeLimit` does. The federation inbox is not scanned: its schema refuses
    control characters with its own documented 422 (FEDERATION.md 4.3)."""

    def __init__(self, app: ASGIApp, *, html_page: HtmlErrorPage) -> None:
        self.app = app
        self.html_page = html_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _has_nul(scope):
            await self._refuse(scope, receive, send, NUL_IN_URL)
            return
        pattern = _body_nul(scope)
        if pattern is None:
            await self.app(scope, receive, send)
            return
        tail = b""
        refused = False
        started = False

        async def scanned_receive() -> Message:
            nonlocal tail, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                window = tail + message.get("body", b"")
                if pattern.search(window) and not started:
                    refused = True
                    await self._refuse(scope, receive, send, NUL_IN_BODY)
                    return {"type": "http.disconnect"}
                tail = window[-64:]  # an escape split across two chunks is still seen
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, scanned_receive, guarded_send)
        except ClientDisconnect:
            if not refused:
                raise  # the client did leave; not ours to hide
            # a form parser meets the disconnect we told it of; the 400 is already sent

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, message: str) -> None:
        request = Request(scope, receive)
        if wants_html(request):
            response = self.html_page(request, 400, message)
        else:
            response = error_response(400, "bad_request", message)
        await response(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"%00" in query or b"\x00" in query


# A JSON escape for NUL that is not itself escaped (an even run of backslashes before it).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000|\x00")
_FORM_NUL = re.compile(rb"%00|\x00")


def _body_nul(scope: Scope) -> re.Pattern[bytes] | None:
    """The pattern of a NUL in this request's body, if its type is one to scan."""
    if scope["path"] == FEDERATION_INBOX:
        return None
    content_type = b""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.split(b";", 1)[0].strip().lower()
    if content_type == b"application/json" or content_type.endswith(b"+json"):
        return _JSON_NUL
    if content_type == b"application/x-www-form-urlencoded":
        return _FORM_NUL
    return None
