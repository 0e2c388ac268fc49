"""Read timeouts for slow clients: uvicorn's HTTP protocol with a deadline on every read.

Uvicorn closes an idle keep-alive connection (``timeout_keep_alive``, 5 s) but sets no limit on
how long a client may take to send a request: a connection that sends nothing, or one header
line every few seconds ("slowloris"), or a body one byte at a time, was held open for as long
as the client liked. A hundred of them tie up the node. This protocol closes them:

- **Headers**: the request line and headers must be complete within ``http_header_timeout``
  seconds of the connection opening (or, on a kept-alive connection, of the request's first
  byte).
- **Body**: the body gets ``http_body_timeout`` seconds from the end of the headers, and every
  byte received extends that by ``1 / http_body_min_rate`` seconds: a client keeping up the
  minimum rate (10 kB/s by default) can send a body of any allowed size, one dripping bytes is
  closed after about ``http_body_timeout`` seconds. While the app is not reading (uvicorn
  pauses the socket when the unread body passes 64 KiB), the clock is not the client's: the
  deadline is pushed back until reading resumes.

A connection past its deadline is closed without an answer (there is no request to answer
yet), as nginx does for ``client_header_timeout``; the log says why. It is the protocol
uvicorn runs by default (httptools) with four callbacks wrapped, nothing else changed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("ipo_node.server")


class ReadTimeoutProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol with header and body read deadlines (class attributes,
    set per server by :func:`read_timeout_protocol`)."""

    header_timeout: float = 10.0
    body_timeout: float = 10.0
    body_min_rate: float = 10_000.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._reading_body = False
        self._body_deadline = 0.0

    # ---- the connection ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.loop.time() + self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # ---- the parser's callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline_timer is None:  # a kept-alive connection's next request
            self._arm(self.loop.time() + self.header_timeout)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._disarm()
        self._reading_body = True
        self._body_deadline = self.loop.time() + self.body_timeout
        self._arm(self._body_deadline)

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._body_deadline += len(body) / self.body_min_rate

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()
        self._reading_body = False

    # ---- the deadline -----------------------------------------------------------------------

    def _arm(self, when: float) -> None:
        self._disarm()
        self._deadline_timer = self.loop.call_at(when, self._deadline_passed)

    def _disarm(self) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None

    def _deadline_passed(self) -> None:
        self._deadline_timer = None
        now = self.loop.time()
        if self._reading_body:
            if self.flow is not None and self.flow.read_paused:
                # The app has not read what came; the client cannot send more until it does.
                self._body_deadline = now + self.body_timeout
            if now < self._body_deadline:
                self._arm(self._body_deadline)
                return
        if self.transport is None or self.transport.is_closing():
            return
        what = "body" if self._reading_body else "request headers"
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.info("closing the connection from %s: its %s came too slowly", client, what)
        self.transport.close()


def read_timeout_protocol(
    *, header_timeout: float, body_timeout: float, body_min_rate: float
) -> type[ReadTimeoutProtocol]:
    """The protocol class for one server, with its deadlines (uvicorn instantiates it)."""
    return type(
        "ReadTimeoutProtocol",
        (ReadTimeoutProtocol,),
        {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "body_min_rate": body_min_rate,
        },
    )
