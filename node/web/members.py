"""The members pages (organizers): list and search, add, edit, and CSV import.

Each page calls ``node.members.service`` like the API does (same role: organizer), so the
rules (unique email, all-or-nothing import) are the service's. An upload becomes an import job
(``node.members.imports``): its page shows the rows checked so far, reloading itself until the
job ends, then the report: how many members were added and updated, or each wrong row and why.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from node.config import Settings
from node.deps import RowId, SessionDep, SettingsDep
from node.errors import InvalidInput, NodeError
from node.members import csv_io, imports, service
from node.members.models import Member, MemberCreate, MemberImport, MemberUpdate, phone_display
from node.members.repository import MemberFilters
from node.web.deps import PageOrganizer, WardQuery
from node.web.rendering import field_errors, page_router, redirect, render

router = page_router()

PAGE_SIZE = 50
REFRESH_SECONDS = 2  # how often a running import's page reloads itself (no script)
TEXT_FIELDS = ("given_name", "family_name", "email", "phone", "street_address", "city", "state",
               "postal_code", "precinct", "notes")  # fmt: skip
LIST_FIELDS = ("languages", "tags")
FLAGS = ("sms_opt_in", "share_contact_with_hosts")


def _form_values(form: FormData) -> dict[str, Any]:
    """The member form as the API's body: blanks are "unknown", lists are comma-separated."""
    values: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in TEXT_FIELDS}
    values["email"] = values["email"] or None
    ward = str(form.get("ward") or "").strip()
    values["ward"] = ward or None
    for name in LIST_FIELDS:
        values[name] = [part for part in str(form.get(name) or "").split(",") if part.strip()]
    for name in FLAGS:
        values[name] = form.get(name) == "on"
    return values


def _shown(member: Member | None, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the form fields show: what was typed, else the member's stored values."""
    if values is not None:
        shown = dict(values)
    elif member is not None:
        shown = member.model_dump()
        shown["phone"] = phone_display(member.phone)
    else:
        shown = {}
    for name in LIST_FIELDS:
        shown[name] = ", ".join(shown.get(name) or [])
    return shown


_ZIP_QUERY = re.compile(r"[0-9]{5}(-[0-9]{4})?")


@router.get("/members")
async def members_page(
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    ward: WardQuery,
    q: str = "",
    zip_code: Annotated[str, Query(alias="zip")] = "",
    tag: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    del principal
    zip_code, tag = zip_code.strip(), tag.strip()[:64]
    if zip_code and not _ZIP_QUERY.fullmatch(zip_code):
        raise InvalidInput(
            "A ZIP code is 5 digits (60625), or ZIP+4 (60625-1234).", field=["query", "zip"]
        )
    filters = MemberFilters(
        q=q.strip()[:200] or None, ward=ward, postal_code=zip_code or None, tag=tag or None
    )
    members, next_cursor = await service.list_members(
        session, filters=filters, limit=PAGE_SIZE, cursor=cursor
    )
    next_url = str(request.url.include_query_params(cursor=next_cursor)) if next_cursor else None
    return render(
        request,
        "members.html",
        {
            "members": members,
            "q": q,
            "ward": ward or "",
            "zip": zip_code,
            "tag": tag,
            "searching": bool(filters.q or filters.ward or filters.postal_code or filters.tag),
            "next_url": next_url,
            "first_page": cursor is None,
            "phone": phone_display,
        },
    )


def _form_page(
    request: Request,
    *,
    member: Member | None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "members_form.html",
        {
            "member": member,
            "title": f"Edit {_name(member)}" if member else "Add a member",
            "name": _name(member) if member else "",
            "values": _shown(member, values),
            "errors": errors or {},
        },
        status_code=status_code,
    )


def _errors(exc: ValidationError | NodeError) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return field_errors(exc)
    fields = [str(part) for part in (exc.details[0].loc if exc.details else []) if part != "body"]
    return {".".join(fields) or "form": exc.message}


@router.get("/members/new")
async def new_member_page(request: Request, principal: PageOrganizer) -> HTMLResponse:
    del principal
    return _form_page(request, member=None)


@router.post("/members/new")
async def add_member(request: Request, principal: PageOrganizer, session: SessionDep) -> Response:
    values = _form_values(await request.form())
    try:
        data = MemberCreate.model_validate(values)
        member = await service.create_member(session, data=data, actor=principal.actor)
    except (ValidationError, service.MemberEmailTaken) as exc:
        return _form_page(request, member=None, values=values, errors=_errors(exc), status_code=422)
    return redirect("/members", notice=f"Added {_name(member)}.")


@router.get("/members/{member_id}/edit")
async def edit_member_page(
    request: Request, member_id: RowId, principal: PageOrganizer, session: SessionDep
) -> HTMLResponse:
    del principal
    member = await service.get_member(session, member_id=member_id)
    return _form_page(request, member=member)


@router.post("/members/{member_id}/edit")
async def edit_member(
    request: Request, member_id: RowId, principal: PageOrganizer, session: SessionDep
) -> Response:
    member = await service.get_member(session, member_id=member_id)
    values = _form_values(await request.form())
    try:
        data = MemberUpdate.model_validate(values)
        member = await service.update_member(
            session, member_id=member_id, data=data, actor=principal.actor
        )
    except (ValidationError, service.MemberEmailTaken) as exc:
        return _form_page(
            request, member=member, values=values, errors=_errors(exc), status_code=422
        )
    return redirect("/members", notice=f"Saved {_name(member)}.")


@router.post("/members/{member_id}/delete")
async def delete_member(
    member_id: RowId, principal: PageOrganizer, session: SessionDep
) -> Response:
    """Erase the record for good (the edit page asks first)."""
    member = await service.get_member(session, member_id=member_id)
    name = _name(member)
    await service.delete_member(session, member_id=member_id, actor=principal.actor)
    return redirect("/members", notice=f"Deleted {name}: the record is gone for good.")


def _name(member: Member) -> str:
    return " ".join(p for p in (member.given_name, member.family_name) if p) or (
        member.email or f"member {member.id}"
    )


# ---- CSV import -------------------------------------------------------------------------------


def _import_page(
    request: Request,
    settings: Settings,
    *,
    job: MemberImport | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "members_import.html",
        {
            "job": job,
            "error": error,
            "max_rows": settings.max_import_rows,
            "max_size": csv_io.size_label(settings.max_import_bytes),
            "refresh_seconds": REFRESH_SECONDS,
        },
        status_code=status_code,
    )


@router.get("/members/import")
async def import_page(
    request: Request, principal: PageOrganizer, settings: SettingsDep
) -> HTMLResponse:
    del principal
    return _import_page(request, settings)


@router.post("/members/import")
async def import_members(
    request: Request, principal: PageOrganizer, session: SessionDep, settings: SettingsDep
) -> Response:
    """Read the file, then check and save it as a job; its page shows progress, then the
    report. A file that cannot be read, or is over the limits, is refused at once."""
    # Authenticated: no transaction (on SQLite, the node's one connection) stays open while
    # the upload is read and parsed.
    await session.commit()
    form = await request.form()
    try:
        upload = form.get("file")
        data = await upload.read() if isinstance(upload, UploadFile) else b""
    finally:
        await form.close()  # the spooled upload's temporary file
    if not data:
        return _import_page(
            request, settings, error="Choose a CSV file to import.", status_code=422
        )
    try:
        csv_file = await imports.read_upload(data, limits=imports.ImportLimits.of(settings))
    except (csv_io.CsvFileInvalid, csv_io.ImportTooLarge) as exc:
        return _import_page(request, settings, error=exc.message, status_code=exc.status_code)
    job_id = await imports.create_job(session, csv_file=csv_file)
    await session.commit()  # the job's task, and the page it is sent to, read the row
    jobs: imports.ImportJobs = request.app.state.member_imports
    jobs.start(job_id=job_id, csv_file=csv_file, actor=principal.actor)
    return redirect(f"/members/import/{job_id}")


@router.get("/members/import/{import_id}")
async def import_job_page(
    request: Request,
    import_id: RowId,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> HTMLResponse:
    del principal
    job = await imports.get_job(session, import_id=import_id)
    return _import_page(request, settings, job=job)
