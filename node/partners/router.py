"""HTTP for partner clients: admins register and revoke them; partners check their token.

The client secret is in the answer to ``POST /api/v1/partners`` and nowhere else, ever.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from node.deps import AdminUser, SessionDep
from node.errors import ERROR_RESPONSES
from node.partners import docs, service
from node.partners.auth import CurrentPartner, check_scope
from node.partners.examples import TOKEN_EXAMPLES
from node.partners.models import (
    PartnerClientCreate,
    PartnerClientCreated,
    PartnerClientPublic,
    PartnerScope,
    PartnerWhoami,
)

router = APIRouter(prefix="/api/v1/partners", tags=["partner clients"], responses=ERROR_RESPONSES)
partner_router = APIRouter(
    prefix="/api/v1/partner", tags=["partner API"], responses=ERROR_RESPONSES
)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PartnerClientCreated)
async def register_partner_client(
    data: PartnerClientCreate, principal: AdminUser, session: SessionDep
) -> PartnerClientCreated:
    """Register a partner client. The answer holds `client_secret`: shown this once only."""
    return await service.register_client(session, data=data, actor=principal.actor)


@router.get("", response_model=list[PartnerClientPublic])
async def list_partner_clients(
    principal: AdminUser, session: SessionDep
) -> list[PartnerClientPublic]:
    """Every partner client, revoked and expired ones included (oldest first)."""
    del principal
    return [service.public(client) for client in await service.list_clients(session)]


@router.get("/{client_id}", response_model=PartnerClientPublic)
async def get_partner_client(
    client_id: str, principal: AdminUser, session: SessionDep
) -> PartnerClientPublic:
    del principal
    return service.public(await service.get_client(session, client_id=client_id))


@router.post("/{client_id}/revoke", response_model=PartnerClientPublic)
async def revoke_partner_client(
    client_id: str, principal: AdminUser, session: SessionDep
) -> PartnerClientPublic:
    """Revoke a client: its secret and all its access tokens stop working at once."""
    client = await service.revoke_client(session, client_id=client_id, actor=principal.actor)
    return service.public(client)


_WHOAMI_RESPONSES = {
    **docs.answer(200, TOKEN_EXAMPLES["whoami"], "The token's client, scopes and expiry."),
    **docs.AUTH_ERRORS,
    **docs.errors(
        403,
        "Asked with `scope=...`, and the token lacks one of those scopes.",
        {
            "missing_scope": (
                "scope=forums:read, not held",
                docs.error_body(
                    "insufficient_scope",
                    "This needs the forums:read scope, which this token does not hold.",
                ),
            )
        },
    ),
    **docs.errors(
        422,
        "`scope` is not a partner scope.",
        {
            "unknown_scope": (
                "scope=nope",
                docs.error_body(
                    "validation_failed",
                    "scope[0] (query): Choose one of: events:read, forums:read, "
                    "endorsements:read, canvass:read, organizations:read or webhooks:manage.",
                    ["query", "scope", 0],
                ),
            )
        },
    ),
}


@partner_router.get(
    "/whoami",
    summary="Check an access token",
    response_model=PartnerWhoami,
    responses=_WHOAMI_RESPONSES,
)
async def partner_whoami(
    partner: CurrentPartner,
    scope: Annotated[
        list[PartnerScope],
        Query(description="Answer 403 unless the token holds this scope (repeatable)."),
    ] = [],  # noqa: B006 -- FastAPI copies query defaults per request
) -> PartnerWhoami:
    """Which client this access token belongs to, its scopes, and when the token expires.

    Any valid token may call it, whatever its scopes: it is how a partner checks its
    credentials. With `scope=...` it also checks the token holds those scopes, answering 403
    `insufficient_scope` exactly as the resource routes needing them would.
    """
    for needed in scope:
        check_scope(partner, needed)
    if partner.token_expires_at is None:  # set for every authenticated partner request
        raise RuntimeError("partner principal without a token expiry")
    return PartnerWhoami(
        client_id=partner.client_id,
        name=partner.name,
        scopes=sorted(partner.scopes),
        token_expires_at=partner.token_expires_at,
    )
