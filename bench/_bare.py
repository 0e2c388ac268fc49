"""The inbox benchmark's baseline: a bare FastAPI JSON endpoint under uvicorn.

Served exactly as ``node/server.py`` serves the node (``uvicorn.run`` with ``log_config=None``,
``proxy_headers=True``, ``server_header=False`` and uvicorn's defaults otherwise, so
``loop="auto"`` and ``http="auto"``), but the app reads the body and answers ``{"ok": true}``:
no middleware, no signature check, no database.

    .venv/bin/python -m bench._bare --port 8123
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/federation/inbox", status_code=202)
async def inbox(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"ok": True}, status_code=202)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        proxy_headers=True,
        server_header=False,
    )


if __name__ == "__main__":
    main()
