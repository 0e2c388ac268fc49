"""Running the app under uvicorn, shared by ``serve`` and ``demo``."""

from __future__ import annotations

import uvicorn

from node.config import Settings
from node.main import create_app
from node.ops.logging import configure_logging
from node.ops.timeouts import read_timeout_protocol


def run_server(settings: Settings, *, host: str, port: int) -> None:
    """Serve until interrupted; uvicorn handles SIGINT/SIGTERM with a graceful shutdown.

    Connections that send their request too slowly are closed (``node.ops.timeouts``)."""
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        http=read_timeout_protocol(
            header_timeout=settings.http_header_timeout_seconds,
            body_timeout=settings.http_body_timeout_seconds,
            body_min_rate=settings.http_body_min_rate,
        ),
        log_config=None,
        # Its access log prints query strings; RequestLog logs each request instead.
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )
