"""HTTP routes of the partner read API for coalition work: endorsements, canvass calls, and
the deleted feed (HTTP only; see ``node.partners.resources`` for the shared conventions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from federation.storage import utcnow
from node.canvass import repository as canvass_repository
from node.canvass.models import CanvassCall
from node.deps import SessionDep, SettingsDep
from node.endorsements.bundle import build_bundle
from node.endorsements.models import Endorsement
from node.errors import ERROR_RESPONSES
from node.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, next_link, paginate
from node.partners import docs, queries
from node.partners import representations as rep
from node.partners import representations_coalition as coalition
from node.partners.auth import CurrentPartner
from node.partners.etag import conditional_json
from node.partners.examples import EXAMPLES
from node.partners.resources import (
    Canvass,
    Endorsements,
    ObjectKey,
    PagingDep,
    Ward,
    check_cursor,
    filters_with,
    missing,
    page_of,
)

router = APIRouter(
    prefix=docs.PREFIX, tags=["partner"], responses={**ERROR_RESPONSES, **docs.ERRORS}
)

# ---- endorsements ---------------------------------------------------------------------------

EndorsementStatus = Literal["collecting", "ratified", "withdrawn", "expired"]
Office = Annotated[
    list[str] | None,
    Query(max_length=20, description="Only races for these offices (`mayor`, `alderperson`...)."),
]


async def _endorsements(
    request: Request, session: SessionDep, rows: Sequence[Endorsement], known: queries.Known
) -> list[coalition.PartnerEndorsement]:
    signatures = await queries.signatures_of(session, endorsement_ids=[row.id for row in rows])
    now = utcnow()
    return [
        coalition.endorsement_of(
            row,
            signatures[row.id],
            origins=known.origins,
            now=now,
            bundle_url=str(request.url_for("get_endorsement_bundle", endorsement_id=row.id)),
        )
        for row in rows
    ]


@router.get(
    "/endorsements",
    summary="List joint endorsements",
    response_model=Page[coalition.PartnerEndorsement],
    responses={**docs.ok(docs.page_example(EXAMPLES["endorsement"])), **docs.NOT_MODIFIED},
)
async def list_endorsements(
    request: Request,
    response: Response,
    partner: Endorsements,
    session: SessionDep,
    settings: SettingsDep,
    paging: PagingDep,
    type: Office = None,
    status: EndorsementStatus | None = None,
) -> Response:
    """Endorsements this node proposed (never drafts) or was asked to sign by a current ally,
    with every signature and its JWS. `start_after`/`start_before` bound the election date;
    `type` is the office."""
    known = await queries.known_origins(session, settings=settings)
    filters = filters_with(paging, types=type, status=status)
    query = queries.endorsements(trusted=known.trusted, filters=filters, now=utcnow())
    rows, cursor, link = await page_of(request, session, query, Endorsement, paging)
    items = await _endorsements(request, session, rows, known)
    page = Page[coalition.PartnerEndorsement](items=items, next_cursor=cursor, next=link)
    return conditional_json(request, response, page)


async def _one_endorsement(
    session: SessionDep, known: queries.Known, endorsement_id: str
) -> Endorsement:
    query = queries.endorsements(trusted=known.trusted, filters=queries.Filters(), now=utcnow())
    row: Endorsement | None = await queries.by_id(session, query, Endorsement, endorsement_id)
    if row is None:
        raise missing("endorsement", endorsement_id)
    return row


@router.get(
    "/endorsements/{endorsement_id}",
    summary="Get one joint endorsement",
    response_model=coalition.PartnerEndorsement,
    responses={
        **docs.ok(EXAMPLES["endorsement"]),
        **docs.NOT_MODIFIED,
        **docs.not_found("endorsement"),
    },
)
async def get_endorsement(
    request: Request,
    response: Response,
    partner: Endorsements,
    session: SessionDep,
    settings: SettingsDep,
    endorsement_id: ObjectKey,
) -> Response:
    """One endorsement by its `id`, with its signatures."""
    known = await queries.known_origins(session, settings=settings)
    row = await _one_endorsement(session, known, endorsement_id)
    [item] = await _endorsements(request, session, [row], known)
    return conditional_json(request, response, item)


@router.get(
    "/endorsements/{endorsement_id}/bundle",
    summary="Get an endorsement's verification bundle",
    response_model=coalition.EndorsementBundle,
    responses={
        **docs.ok(EXAMPLES["bundle"]),
        **docs.NOT_MODIFIED,
        **docs.not_found("endorsement"),
    },
)
async def get_endorsement_bundle(
    request: Request,
    response: Response,
    partner: Endorsements,
    session: SessionDep,
    settings: SettingsDep,
    endorsement_id: ObjectKey,
) -> Response:
    """The self-contained bundle: the endorsement as signed and every signer's published keys.
    Save it and run `ipo-node verify FILE` to check every signature offline (compare the key
    ids with the signers' out of band)."""
    known = await queries.known_origins(session, settings=settings)
    row = await _one_endorsement(session, known, endorsement_id)
    keyring = request.app.state.federation.keyring()
    bundle = await build_bundle(session, endorsement=row, settings=settings, keyring=keyring)
    bundle.pop("exported_at")  # the same bundle twice has the same ETag
    return conditional_json(request, response, coalition.EndorsementBundle.model_validate(bundle))


# ---- canvass calls --------------------------------------------------------------------------


async def _calls(
    session: SessionDep, rows: Sequence[CanvassCall], known: queries.Known
) -> list[coalition.PartnerCanvassCall]:
    ids = [row.id for row in rows]
    shifts = await canvass_repository.shifts_of_calls(session, call_ids=ids)
    reports = await queries.reports_of(session, call_ids=ids)
    return [
        coalition.canvass_call_of(row, shifts[row.id], reports[row.id], origins=known.origins)
        for row in rows
    ]


@router.get(
    "/canvass_calls",
    summary="List cross-ward canvass calls",
    response_model=Page[coalition.PartnerCanvassCall],
    responses={**docs.ok(docs.page_example(EXAMPLES["canvass_call"])), **docs.NOT_MODIFIED},
)
async def list_canvass_calls(
    request: Request,
    response: Response,
    partner: Canvass,
    session: SessionDep,
    settings: SettingsDep,
    paging: PagingDep,
    ward: Ward = None,
    type: Annotated[
        list[Literal["candidate", "referendum"]] | None, Query(description="Campaign kind.")
    ] = None,
    status: Literal["active", "cancelled"] | None = None,
) -> Response:
    """Canvass calls of this node and its current allies: shifts with their fill and the
    post-shift aggregates (counts under 5 suppressed). Never sign-ups or volunteers.
    `start_after`/`start_before` keep calls with a shift starting in that range."""
    known = await queries.known_origins(session, settings=settings)
    filters = filters_with(paging, types=type, ward=ward, status=status)
    query = queries.canvass_calls(trusted=known.trusted, filters=filters)
    rows, cursor, link = await page_of(request, session, query, CanvassCall, paging)
    page = Page[coalition.PartnerCanvassCall](
        items=await _calls(session, rows, known), next_cursor=cursor, next=link
    )
    return conditional_json(request, response, page)


@router.get(
    "/canvass_calls/{call_id}",
    summary="Get one canvass call",
    response_model=coalition.PartnerCanvassCall,
    responses={
        **docs.ok(EXAMPLES["canvass_call"]),
        **docs.NOT_MODIFIED,
        **docs.not_found("canvass call"),
    },
)
async def get_canvass_call(
    request: Request,
    response: Response,
    partner: Canvass,
    session: SessionDep,
    settings: SettingsDep,
    call_id: ObjectKey,
) -> Response:
    """One canvass call by its `id`."""
    known = await queries.known_origins(session, settings=settings)
    query = queries.canvass_calls(trusted=known.trusted, filters=queries.Filters())
    row = await queries.by_id(session, query, CanvassCall, call_id)
    if row is None:
        raise missing("canvass call", call_id)
    [item] = await _calls(session, [row], known)
    return conditional_json(request, response, item)


# ---- deletions ------------------------------------------------------------------------------


@router.get(
    "/deleted",
    summary="List deleted objects (tombstones)",
    response_model=Page[rep.DeletedObject],
    responses={**docs.ok(docs.page_example(EXAMPLES["deleted"])), **docs.NOT_MODIFIED},
)
async def list_deleted(
    request: Request,
    response: Response,
    partner: CurrentPartner,
    session: SessionDep,
    settings: SettingsDep,
    since: Annotated[
        AwareDatetime | None, Query(description="Only deletions at or after this time.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """Objects of the kinds your scopes cover that were deleted, here or by their origin, in
    order of deletion (`deleted_date`, then `id`): drop them from your copy. Today only events
    are ever deleted (forums, endorsements and canvass calls end by status: `cancelled`,
    `withdrawn`), so a client without `events:read` gets an empty list."""
    if cursor is not None:
        check_cursor(cursor)
    items: list[rep.DeletedObject] = []
    next_cursor = None
    if "events:read" in partner.scopes:
        known = await queries.known_origins(session, settings=settings)
        query = queries.deleted_events(trusted=known.trusted, since=since)
        rows, next_cursor = await paginate(
            session, query, order_by=queries.deleted_ordering(), limit=limit, cursor=cursor
        )
        items = [rep.deleted_event(row, origins=known.origins) for row in rows]
    page = Page[rep.DeletedObject](
        items=items, next_cursor=next_cursor, next=next_link(request, next_cursor)
    )
    return conditional_json(request, response, page)
