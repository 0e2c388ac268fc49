"""HTTP routes of the members domain: organizers' member records, and a person's own data."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from starlette.datastructures import UploadFile

from node.deps import CurrentUser, OrganizerUser, RowId, SessionDep, SettingsDep
from node.errors import ERROR_RESPONSES, InvalidInput, NodeError
from node.members import imports, service
from node.members.models import (
    ErasureReceipt,
    MemberCreate,
    MemberDataExport,
    MemberImportResult,
    MemberPublic,
    MemberUpdate,
    MyData,
)
from node.members.repository import MemberFilters
from node.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, next_link

router = APIRouter(tags=["members"], responses=ERROR_RESPONSES)

CSV_TYPES = ("text/csv", "application/csv", "text/plain")
_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


class UnsupportedMediaType(NodeError):
    status_code = 415
    code = "unsupported_media_type"


@router.get("/api/v1/members", response_model=Page[MemberPublic])
async def list_members(
    request: Request,
    principal: OrganizerUser,
    session: SessionDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Words found in name, email or phone")
    ] = None,
    ward: Annotated[int | None, Query(ge=1, le=50)] = None,
    postal_code: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{5}(-[0-9]{4})?$",
            description="A ZIP code: 60625 also finds 60625-1234; a ZIP+4 finds only itself",
        ),
    ] = None,
    precinct: Annotated[str | None, Query(max_length=16)] = None,
    tag: Annotated[
        str | None, Query(max_length=64, description="Members with this tag (exact, any case)")
    ] = None,
    language: Annotated[str | None, Query(max_length=64)] = None,
    sms_opt_in: bool | None = None,
    updated_since: Annotated[
        datetime | None, Query(description="Only members changed at or after this time")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[MemberPublic]:
    """Members of this node, oldest first, filtered and paged."""
    del principal
    filters = MemberFilters(
        q=q,
        ward=ward,
        postal_code=postal_code,
        precinct=precinct,
        tag=tag,
        language=language,
        sms_opt_in=sms_opt_in,
        updated_since=updated_since,
    )
    rows, next_cursor = await service.list_members(
        session, filters=filters, limit=limit, cursor=cursor
    )
    return Page[MemberPublic](
        items=[MemberPublic.of(m) for m in rows],
        next_cursor=next_cursor,
        next=next_link(request, next_cursor),
    )


@router.post("/api/v1/members", response_model=MemberPublic, status_code=status.HTTP_201_CREATED)
async def create_member(
    body: MemberCreate, principal: OrganizerUser, session: SessionDep
) -> MemberPublic:
    member = await service.create_member(session, data=body, actor=principal.actor)
    return MemberPublic.of(member)


@router.post(
    "/api/v1/members/import", response_model=MemberImportResult, openapi_extra=_IMPORT_BODY
)
async def import_members(
    request: Request,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
    dry_run: Annotated[bool, Query(description="Check the file and report; write nothing")] = False,
) -> MemberImportResult:
    """Import a CSV file (raw `text/csv` body, or multipart field `file`). All rows or none.

    If any row is wrong the answer is 422 and each wrong row is in `error.details`, with
    `loc` = `["row", <row number, the header being row 1>, <column>]` (the first 1,000).
    A file over `max_import_bytes` or `max_import_rows` is refused with 413 and changes nothing.
    """
    # Authenticated: end that transaction, so that no connection (on SQLite, the node's only
    # one) is held while the file arrives and its rows are checked. The import runs its own
    # short units of work.
    await session.commit()
    data = await _uploaded_bytes(request)
    return await imports.import_csv(
        request.app.state.session_maker,
        data=data,
        limits=imports.ImportLimits.of(settings),
        dry_run=dry_run,
        actor=principal.actor,
    )


async def _uploaded_bytes(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        # Closing the form closes its spooled temporary file.
        async with request.form() as form:
            upload = form.get("file")
            if isinstance(upload, UploadFile):
                return await upload.read()
            if isinstance(upload, str):
                return upload.encode()
        raise InvalidInput("Send the CSV file in the form field `file`.", field=["body", "file"])
    if content_type in CSV_TYPES:
        return await request.body()
    raise UnsupportedMediaType(
        "Send the CSV as a `text/csv` body, or as the `file` field of a multipart form."
    )


@router.get(
    "/api/v1/members/export.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "Every member, as CSV."}},
)
async def export_members_csv(principal: OrganizerUser, session: SessionDep) -> Response:
    """Every member as CSV, with the columns the import reads (see docs/members-csv.md)."""
    text = await service.export_csv(session, actor=principal.actor)
    return Response(
        content=text.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="members.csv"'},
    )


@router.get("/api/v1/members/{member_id}", response_model=MemberPublic)
async def get_member(
    member_id: RowId, principal: OrganizerUser, session: SessionDep
) -> MemberPublic:
    del principal
    return MemberPublic.of(await service.get_member(session, member_id=member_id))


@router.patch("/api/v1/members/{member_id}", response_model=MemberPublic)
async def update_member(
    member_id: RowId, body: MemberUpdate, principal: OrganizerUser, session: SessionDep
) -> MemberPublic:
    """Change the fields sent; the others are kept."""
    member = await service.update_member(
        session, member_id=member_id, data=body, actor=principal.actor
    )
    return MemberPublic.of(member)


@router.delete("/api/v1/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_member(member_id: RowId, principal: OrganizerUser, session: SessionDep) -> None:
    """Erase a member record for good (it is deleted, not hidden)."""
    await service.delete_member(session, member_id=member_id, actor=principal.actor)


@router.get("/api/v1/members/{member_id}/export", response_model=MemberDataExport)
async def export_member(
    member_id: RowId, principal: OrganizerUser, session: SessionDep
) -> MemberDataExport:
    """Everything this node keeps about one member, to hand over on request."""
    return await service.export_member(session, member_id=member_id, actor=principal.actor)


@router.get("/api/v1/me/data", response_model=MyData)
async def my_data(principal: CurrentUser, session: SessionDep) -> MyData:
    """Everything this node keeps about you: your account and your member record."""
    return await service.my_data(session, user=principal.user)


@router.delete("/api/v1/me", response_model=ErasureReceipt)
async def erase_me(
    principal: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ErasureReceipt:
    """Erase your member record and close your account; your login stops working at once.

    Your canvass sign-ups still active are withdrawn, and each host ward is told to forget
    you; the receipt lists them."""
    return await service.erase_me(
        session, user=principal.user, actor=principal.actor, settings=settings
    )
