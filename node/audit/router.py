"""The audit log, readable by admins only, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import col, select

from node.audit.models import AuditEntry, AuditEntryPublic
from node.deps import AdminUser, SessionDep
from node.errors import ERROR_RESPONSES
from node.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, next_link, paginate

router = APIRouter(prefix="/api/v1", tags=["audit"], responses=ERROR_RESPONSES)


@router.get("/audit", response_model=Page[AuditEntryPublic])
async def list_audit_entries(
    request: Request,
    principal: AdminUser,
    session: SessionDep,
    action: Annotated[str | None, Query(description="Only this action, e.g. member.create")] = None,
    since: Annotated[
        datetime | None, Query(description="Only entries at or after this time")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[AuditEntryPublic]:
    """Who did what to which object on this node."""
    del principal
    query = select(AuditEntry)
    if action:
        query = query.where(col(AuditEntry.action) == action)
    if since is not None:
        query = query.where(col(AuditEntry.at) >= since)
    rows, next_cursor = await paginate(
        session, query, order_by=[col(AuditEntry.id)], limit=limit, cursor=cursor, descending=True
    )
    return Page[AuditEntryPublic](
        items=[AuditEntryPublic.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=next_cursor,
        next=next_link(request, next_cursor),
    )
