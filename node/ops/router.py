"""Liveness and readiness probes, and the node document peers discover us by."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from node import __version__
from node.config import Settings
from node.errors import ERROR_RESPONSES
from node.migrate import current_revision, head_revision

router = APIRouter(tags=["operations"], responses=ERROR_RESPONSES)

PROTOCOL_VERSION = "1"
NODE_DOCUMENT_TYPE = "application/json"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Database unreachable or not at head"}})
async def readyz(request: Request) -> JSONResponse:
    """The database answers and is migrated to the revision this code expects."""
    engine: AsyncEngine = request.app.state.engine
    expected = head_revision()
    try:
        async with engine.connect() as connection:
            revision = await current_revision(connection)
    except Exception as exc:  # any driver error means "not ready"
        return JSONResponse(
            {"status": "unavailable", "database": f"unreachable: {type(exc).__name__}"},
            status_code=503,
        )
    if revision != expected:
        return JSONResponse(
            {"status": "unavailable", "database": f"at {revision}, expected {expected}"},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": revision})


def node_document(settings: Settings, jwks: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": settings.public_url,
        "name": settings.name,
        "kind": settings.kind,
        "wards": settings.wards,
        "inbox": f"{settings.public_url}/federation/inbox",
        "keys": jwks,
        "protocol": PROTOCOL_VERSION,
        "software": {"name": "ipo-node", "version": __version__},
    }


@router.get("/.well-known/coalition-node", tags=["federation"])
async def get_node_document(request: Request) -> JSONResponse:
    """Who this node is: its id, name, wards, inbox and public keys (a JWKS)."""
    settings: Settings = request.app.state.settings
    document = node_document(settings, request.app.state.keyring().jwks())
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=60"})
