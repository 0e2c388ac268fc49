"""Running the app under uvicorn, shared by ``serve`` and ``demo``."""

from __future__ import annotations

import uvicorn

from node.config import Settings
from node.main import create_app
from node.ops.logging import configure_logging


def run_server(settings: Settings, *, host: str, port: int) -> None:
    """Serve until interrupted; uvicorn handles SIGINT/SIGTERM with a graceful shutdown."""
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        # Its access log prints query strings; RequestLog logs each request instead.
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )
