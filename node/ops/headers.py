"""Security headers on every response: pages, the API, static files and errors alike.

The Content-Security-Policy allows scripts, styles, images, fonts and connections from this
node only. No inline script or style is allowed: the pages carry none (a fill bar is an SVG
``rect`` with a ``width`` attribute, not a ``style``), so a value an ally sent that slipped
past escaping still could not run. Nothing may frame the pages (clickjacking), forms post
only to this node, and ``<base>`` and plugins are off.

A response that sets its own ``Content-Security-Policy`` keeps it: the API docs pages do
(``node.web.api_docs``), because the packaged Swagger UI and ReDoc write inline styles.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "Content-Security-Policy"


def content_security_policy(*, style_src: str = "'self'", worker_src: str = "'self'") -> str:
    """The node's policy; only the API docs pages relax styles and workers."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            f"style-src {style_src}",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            f"worker-src {worker_src}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    (CSP, content_security_policy()),
    ("X-Content-Type-Options", "nosniff"),
    # Links out of the node (a candidate's campaign site) do not learn which page, search or
    # member list they were followed from.
    ("Referrer-Policy", "same-origin"),
    # For browsers that predate frame-ancestors.
    ("X-Frame-Options", "DENY"),
)


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
