"""Alliances and federation delivery health, for admins."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Request, status

from federation.runtime import FederationRuntime
from node.alliances import service
from node.alliances.models import AllianceCreate, AlliancePublic, RetryResult
from node.deps import AdminUser, SessionDep
from node.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["alliances"], responses=ERROR_RESPONSES)

Action = Literal["accept", "reject", "suspend", "resume", "end"]


def _runtime(request: Request) -> FederationRuntime:
    runtime: FederationRuntime = request.app.state.federation
    return runtime


@router.get("/alliances", response_model=list[AlliancePublic])
async def list_alliances(principal: AdminUser, session: SessionDep) -> list[AlliancePublic]:
    """Every node this one knows: allies, offers waiting for an answer, former allies."""
    del principal
    return await service.all_alliances(session)


@router.post(
    "/alliances",
    response_model=AlliancePublic,
    status_code=status.HTTP_201_CREATED,
    responses={502: {"description": "The other node could not be reached or is not a node."}},
)
async def propose_alliance(
    request: Request, body: AllianceCreate, principal: AdminUser, session: SessionDep
) -> AlliancePublic:
    """Offer an alliance to the node at `url` (it is fetched and checked first).

    If that node already offered one to us, this accepts it.
    """
    peer = await service.propose(
        session,
        _runtime(request),
        url=body.url,
        scopes=body.scopes,
        message=body.message,
        actor=principal.actor,
    )
    [described] = await service.describe(session, [peer])
    return described


@router.post("/alliances/{peer:path}/{action}", response_model=AlliancePublic)
async def act_on_alliance(
    request: Request, peer: str, action: Action, principal: AdminUser, session: SessionDep
) -> AlliancePublic:
    """Accept or reject a pending offer; suspend, resume or end an alliance.

    `peer` is the peer's id in this list, or its node URL.
    """
    changed = await service.act(
        session, _runtime(request), ref=peer, action=action, actor=principal.actor
    )
    [described] = await service.describe(session, [changed])
    return described


@router.get("/federation/deliveries", response_model=list[AlliancePublic])
async def delivery_health(principal: AdminUser, session: SessionDep) -> list[AlliancePublic]:
    """Per-peer queue depth, failures, last error and next attempt."""
    del principal
    return await service.all_alliances(session)


@router.post("/federation/deliveries/retry", response_model=RetryResult)
async def retry_deliveries(
    request: Request,
    principal: AdminUser,
    session: SessionDep,
    peer: Annotated[str | None, Body(embed=True, description="One peer; all when absent")] = None,
) -> RetryResult:
    """Send again now: lift the backoff and requeue failed deliveries."""
    if peer is not None:
        await service.find_peer(session, ref=peer)
    requeued = await service.retry_now(session, _runtime(request), ref=peer, actor=principal.actor)
    return RetryResult(requeued=requeued)
