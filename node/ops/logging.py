"""Structured logs: one JSON object per line on stderr, with a request id on request logs.

Request logs carry the path without the query string, and with any calendar feed secret,
invitation or password reset token redacted: each is a credential, and logs are copied,
shipped and kept far longer than a secret should be. uvicorn's own access log, which prints
the query string, is off.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.accounts.models import FEED_SECRET_PREFIX, INVITATION_PREFIX, RESET_PREFIX

# uvicorn adds ``color_message`` (the message with terminal colour codes) to its records.
_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


_SECRET_IN_PATH = re.compile(
    "(?P<prefix>"
    + "|".join(re.escape(p) for p in (FEED_SECRET_PREFIX, INVITATION_PREFIX, RESET_PREFIX))
    + r")[^/]*"
)
# An RSVP's private link (``/rsvp/<secret>``, see ``node.rsvps.service``) is a credential too.
_RSVP_LINK = re.compile(r"^/rsvp/[^/]+")


def redact_path(path: str) -> str:
    """``path`` as a log may show it: a feed secret, invitation or reset token, or an RSVP
    link's secret in it (on any route, even a mistyped one) is replaced."""
    path = _RSVP_LINK.sub("/rsvp/[redacted]", path)
    return _SECRET_IN_PATH.sub(r"\g<prefix>[redacted]", path)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True


class RequestLog:
    """Logs one line per request: method, path, status, duration, request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("ipo_node.request")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.log.info(
                "%s %s %s",
                scope["method"],
                redact_path(scope["path"]),
                status,
                extra={
                    "request_id": request_id,
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
