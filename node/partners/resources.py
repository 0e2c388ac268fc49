"""HTTP routes of the partner read API, ``/api/v1/partner/...`` (HTTP only).

Each route: the scope it needs (``require_scope``), the query from ``queries``, the mapper from
``representations``, and the answer through ``etag.conditional_json``. Which rows a partner may
see is decided in ``queries``; what of a row it sees, in ``representations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AwareDatetime

from federation.storage import utcnow
from node.canvass import repository as canvass_repository
from node.canvass.models import CanvassCall
from node.deps import SessionDep, SettingsDep
from node.endorsements.bundle import build_bundle
from node.endorsements.models import Endorsement
from node.errors import InvalidInput, NotFound
from node.events.models import Event, EventStatus, EventType
from node.forums.models import ForumPlan
from node.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, next_link, paginate
from node.partners import docs, queries
from node.partners import representations as rep
from node.partners.auth import CurrentPartner, PartnerPrincipal, require_scope
from node.partners.etag import conditional_json
from node.partners.examples import EXAMPLES

router = APIRouter(prefix=docs.PREFIX, tags=["partner"], responses={**docs.ERRORS})

Events = Annotated[PartnerPrincipal, require_scope("events:read")]
Forums = Annotated[PartnerPrincipal, require_scope("forums:read")]
Endorsements = Annotated[PartnerPrincipal, require_scope("endorsements:read")]
Canvass = Annotated[PartnerPrincipal, require_scope("canvass:read")]
Organizations = Annotated[PartnerPrincipal, require_scope("organizations:read")]
RowId = Annotated[str, Path(min_length=1, max_length=64, description="The object's `id`.")]


class PartnerObjectNotFound(NotFound):
    code = "not_found"


@dataclass(frozen=True)
class Paging:
    limit: int
    cursor: str | None
    filters: queries.Filters


def paging(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="From `next_cursor` of the last page.")
    ] = None,
    updated_since: Annotated[
        AwareDatetime | None, Query(description="Only what changed at or after this time.")
    ] = None,
    start_after: Annotated[
        AwareDatetime | None, Query(description="Only what starts at or after this time.")
    ] = None,
    start_before: Annotated[
        AwareDatetime | None, Query(description="Only what starts before this time.")
    ] = None,
    origin: Annotated[
        str | None, Query(max_length=512, description="Only this organization's (its node URL).")
    ] = None,
) -> Paging:
    if cursor is not None:
        _check_cursor(cursor)
    return Paging(
        limit=limit,
        cursor=cursor,
        filters=queries.Filters(
            updated_since=updated_since,
            start_after=start_after,
            start_before=start_before,
            origin=origin,
        ),
    )


def _check_cursor(cursor: str) -> None:
    """A cursor is ours only if it decodes to (a time, an id): anything else is refused here,
    before it reaches SQL."""
    moment, key = decode_cursor(cursor, width=2)
    if not isinstance(moment, datetime) or moment.tzinfo is None or not isinstance(key, str):
        raise InvalidInput(
            "This cursor is not valid; start again without `cursor`.", field=["query", "cursor"]
        )


PagingDep = Annotated[Paging, Depends(paging)]
Ward = Annotated[int | None, Query(ge=1, le=50, description="Only what touches this ward.")]


async def _page(
    request: Request, session: SessionDep, query: Any, model: Any, paging: Paging
) -> tuple[list[Any], str | None, str | None]:
    rows, cursor = await paginate(
        session, query, order_by=queries.ordering(model), limit=paging.limit, cursor=paging.cursor
    )
    return rows, cursor, next_link(request, cursor)


def _missing(kind: str, row_id: str) -> PartnerObjectNotFound:
    return PartnerObjectNotFound(f"No {kind} {row_id} for this client.")


# ---- organizations --------------------------------------------------------------------------


@router.get(
    "/organizations",
    summary="List this node and its allies",
    response_model=Page[rep.PartnerOrganization],
    responses={**docs.ok(docs.page_example(EXAMPLES["organization"])), **docs.NOT_MODIFIED},
)
async def list_organizations(
    request: Request, response: Response, partner: Organizations, session: SessionDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    """This node (`relation: self`) and every organization it is allied with now, with the
    ids of their published keys (to check signatures) and what each alliance shares. One page:
    a coalition has tens of members, not thousands."""
    keyring = request.app.state.federation.keyring()
    items = [
        rep.PartnerOrganization(
            id=settings.public_url, identifiers=rep.identifiers_of(settings.public_url),
            name=settings.name, org_type=settings.kind, wards=list(settings.wards),
            relation="self", key_ids=[key["kid"] for key in keyring.jwks()["keys"]],
            shares=["events", "forums", "endorsements", "canvass"],
        )
    ]  # fmt: skip
    for peer in await queries.current_allies(session):
        items.append(
            rep.PartnerOrganization(
                id=peer.node_id, identifiers=rep.identifiers_of(peer.node_id), name=peer.name,
                org_type=peer.kind, wards=list(peer.wards), relation="ally",
                key_ids=[key.get("kid", "") for key in peer.keys.get("keys", [])],
                shares=sorted(peer.scopes),
            )
        )  # fmt: skip
    page = Page[rep.PartnerOrganization](items=items, next_cursor=None, next=None)
    return conditional_json(request, response, page)


# ---- events ---------------------------------------------------------------------------------


@router.get(
    "/events",
    summary="List events",
    response_model=Page[rep.PartnerEvent],
    responses={**docs.ok(docs.page_example(EXAMPLES["event"])), **docs.NOT_MODIFIED},
)
async def list_events(
    request: Request, response: Response, partner: Events, session: SessionDep,
    settings: SettingsDep, paging: PagingDep, ward: Ward = None,
    type: Annotated[list[EventType] | None, Query(description="Repeat for several.")] = None,
    status: EventStatus | None = None,
) -> Response:  # fmt: skip
    """Events of this node and its allies that are `public` or `coalition` (forums included,
    `event_type` FORUM), not deleted. Filters combine with AND."""
    known = await queries.known_origins(session, settings=settings)
    filters = _with(paging, types=type, ward=ward, status=status)
    query = queries.events(trusted=known.trusted, filters=filters)
    rows, cursor, link = await _page(request, session, query, Event, paging)
    items = [rep.event_of(row, origins=known.origins) for row in rows]
    page = Page[rep.PartnerEvent](items=items, next_cursor=cursor, next=link)
    return conditional_json(request, response, page)


@router.get(
    "/events/{event_id}",
    summary="Get one event",
    response_model=rep.PartnerEvent,
    responses={**docs.ok(EXAMPLES["event"]), **docs.NOT_MODIFIED, **docs.not_found("event")},
)
async def get_event(
    request: Request, response: Response, partner: Events, session: SessionDep,
    settings: SettingsDep, event_id: RowId,
) -> Response:  # fmt: skip
    """One event by its `id`. A deleted, private or unknown event is 404 alike."""
    known = await queries.known_origins(session, settings=settings)
    query = queries.events(trusted=known.trusted, filters=queries.Filters())
    row = await queries.by_id(session, query, Event, event_id)
    if row is None:
        raise _missing("event", event_id)
    return conditional_json(request, response, rep.event_of(row, origins=known.origins))


# ---- forums ---------------------------------------------------------------------------------


@router.get(
    "/forums",
    summary="List candidate forums",
    response_model=Page[rep.PartnerForum],
    responses={**docs.ok(docs.page_example(EXAMPLES["forum"])), **docs.NOT_MODIFIED},
)
async def list_forums(
    request: Request, response: Response, partner: Forums, session: SessionDep,
    settings: SettingsDep, paging: PagingDep, status: EventStatus | None = None,
) -> Response:  # fmt: skip
    """Forum plans of this node and its allies that are `public` or `coalition`: co-hosts,
    roles, invited candidates and the agenda. Co-hosts' questions and tasks stay internal."""
    known = await queries.known_origins(session, settings=settings)
    query = queries.forums(trusted=known.trusted, filters=_with(paging, status=status))
    rows, cursor, link = await _page(request, session, query, ForumPlan, paging)
    items = [rep.forum_of(row, origins=known.origins) for row in rows]
    page = Page[rep.PartnerForum](items=items, next_cursor=cursor, next=link)
    return conditional_json(request, response, page)


@router.get(
    "/forums/{forum_id}",
    summary="Get one forum",
    response_model=rep.PartnerForum,
    responses={**docs.ok(EXAMPLES["forum"]), **docs.NOT_MODIFIED, **docs.not_found("forum")},
)
async def get_forum(
    request: Request, response: Response, partner: Forums, session: SessionDep,
    settings: SettingsDep, forum_id: RowId,
) -> Response:  # fmt: skip
    """One forum plan by its `id`."""
    known = await queries.known_origins(session, settings=settings)
    query = queries.forums(trusted=known.trusted, filters=queries.Filters())
    row = await queries.by_id(session, query, ForumPlan, forum_id)
    if row is None:
        raise _missing("forum", forum_id)
    return conditional_json(request, response, rep.forum_of(row, origins=known.origins))


# ---- endorsements ---------------------------------------------------------------------------

EndorsementStatus = Literal["collecting", "ratified", "withdrawn", "expired"]
Office = Annotated[
    list[str] | None,
    Query(max_length=20, description="Only races for these offices (`mayor`, `alderperson`...)."),
]


async def _endorsements(
    request: Request, session: SessionDep, rows: Sequence[Endorsement], known: queries.Known
) -> list[rep.PartnerEndorsement]:
    signatures = await queries.signatures_of(session, endorsement_ids=[row.id for row in rows])
    now = utcnow()
    return [
        rep.endorsement_of(
            row, signatures[row.id], origins=known.origins, now=now,
            bundle_url=str(request.url_for("get_endorsement_bundle", endorsement_id=row.id)),
        )
        for row in rows
    ]  # fmt: skip


@router.get(
    "/endorsements",
    summary="List joint endorsements",
    response_model=Page[rep.PartnerEndorsement],
    responses={**docs.ok(docs.page_example(EXAMPLES["endorsement"])), **docs.NOT_MODIFIED},
)
async def list_endorsements(
    request: Request, response: Response, partner: Endorsements, session: SessionDep,
    settings: SettingsDep, paging: PagingDep, type: Office = None,
    status: EndorsementStatus | None = None,
) -> Response:  # fmt: skip
    """Endorsements this node proposed (never drafts) or was asked to sign by a current ally,
    with every signature and its JWS. `start_after`/`start_before` bound the election date;
    `type` is the office."""
    known = await queries.known_origins(session, settings=settings)
    filters = _with(paging, types=type, status=status)
    query = queries.endorsements(trusted=known.trusted, filters=filters, now=utcnow())
    rows, cursor, link = await _page(request, session, query, Endorsement, paging)
    items = await _endorsements(request, session, rows, known)
    page = Page[rep.PartnerEndorsement](items=items, next_cursor=cursor, next=link)
    return conditional_json(request, response, page)


async def _one_endorsement(
    session: SessionDep, known: queries.Known, endorsement_id: str
) -> Endorsement:
    query = queries.endorsements(trusted=known.trusted, filters=queries.Filters(), now=utcnow())
    row: Endorsement | None = await queries.by_id(session, query, Endorsement, endorsement_id)
    if row is None:
        raise _missing("endorsement", endorsement_id)
    return row


@router.get(
    "/endorsements/{endorsement_id}",
    summary="Get one joint endorsement",
    response_model=rep.PartnerEndorsement,
    responses={
        **docs.ok(EXAMPLES["endorsement"]), **docs.NOT_MODIFIED, **docs.not_found("endorsement"),
    },
)  # fmt: skip
async def get_endorsement(
    request: Request, response: Response, partner: Endorsements, session: SessionDep,
    settings: SettingsDep, endorsement_id: RowId,
) -> Response:  # fmt: skip
    """One endorsement by its `id`, with its signatures."""
    known = await queries.known_origins(session, settings=settings)
    row = await _one_endorsement(session, known, endorsement_id)
    [item] = await _endorsements(request, session, [row], known)
    return conditional_json(request, response, item)


@router.get(
    "/endorsements/{endorsement_id}/bundle",
    summary="Get an endorsement's verification bundle",
    response_model=rep.EndorsementBundle,
    responses={
        **docs.ok(EXAMPLES["bundle"]), **docs.NOT_MODIFIED, **docs.not_found("endorsement"),
    },
)  # fmt: skip
async def get_endorsement_bundle(
    request: Request, response: Response, partner: Endorsements, session: SessionDep,
    settings: SettingsDep, endorsement_id: RowId,
) -> Response:  # fmt: skip
    """The self-contained bundle: the endorsement as signed and every signer's published keys.
    Save it and run `ipo-node verify FILE` to check every signature offline (compare the key
    ids with the signers' out of band)."""
    known = await queries.known_origins(session, settings=settings)
    row = await _one_endorsement(session, known, endorsement_id)
    keyring = request.app.state.federation.keyring()
    bundle = await build_bundle(session, endorsement=row, settings=settings, keyring=keyring)
    bundle.pop("exported_at")  # the same bundle twice has the same ETag
    return conditional_json(request, response, rep.EndorsementBundle.model_validate(bundle))


# ---- canvass calls --------------------------------------------------------------------------


async def _calls(
    session: SessionDep, rows: Sequence[CanvassCall], known: queries.Known
) -> list[rep.PartnerCanvassCall]:
    ids = [row.id for row in rows]
    shifts = await canvass_repository.shifts_of_calls(session, call_ids=ids)
    reports = await queries.reports_of(session, call_ids=ids)
    return [
        rep.canvass_call_of(row, shifts[row.id], reports[row.id], origins=known.origins)
        for row in rows
    ]


@router.get(
    "/canvass_calls",
    summary="List cross-ward canvass calls",
    response_model=Page[rep.PartnerCanvassCall],
    responses={**docs.ok(docs.page_example(EXAMPLES["canvass_call"])), **docs.NOT_MODIFIED},
)
async def list_canvass_calls(
    request: Request, response: Response, partner: Canvass, session: SessionDep,
    settings: SettingsDep, paging: PagingDep, ward: Ward = None,
    type: Annotated[
        list[Literal["candidate", "referendum"]] | None, Query(description="Campaign kind.")
    ] = None,
    status: Literal["active", "cancelled"] | None = None,
) -> Response:  # fmt: skip
    """Canvass calls of this node and its current allies: shifts with their fill and the
    post-shift aggregates (counts under 5 suppressed). Never sign-ups or volunteers.
    `start_after`/`start_before` keep calls with a shift starting in that range."""
    known = await queries.known_origins(session, settings=settings)
    filters = _with(paging, types=type, ward=ward, status=status)
    query = queries.canvass_calls(trusted=known.trusted, filters=filters)
    rows, cursor, link = await _page(request, session, query, CanvassCall, paging)
    page = Page[rep.PartnerCanvassCall](
        items=await _calls(session, rows, known), next_cursor=cursor, next=link
    )
    return conditional_json(request, response, page)


@router.get(
    "/canvass_calls/{call_id}",
    summary="Get one canvass call",
    response_model=rep.PartnerCanvassCall,
    responses={
        **docs.ok(EXAMPLES["canvass_call"]), **docs.NOT_MODIFIED, **docs.not_found("canvass call"),
    },
)  # fmt: skip
async def get_canvass_call(
    request: Request, response: Response, partner: Canvass, session: SessionDep,
    settings: SettingsDep, call_id: RowId,
) -> Response:  # fmt: skip
    """One canvass call by its `id`."""
    known = await queries.known_origins(session, settings=settings)
    query = queries.canvass_calls(trusted=known.trusted, filters=queries.Filters())
    row = await queries.by_id(session, query, CanvassCall, call_id)
    if row is None:
        raise _missing("canvass call", call_id)
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
    request: Request, response: Response, partner: CurrentPartner, session: SessionDep,
    settings: SettingsDep,
    since: Annotated[
        AwareDatetime | None, Query(description="Only deletions at or after this time.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:  # fmt: skip
    """Objects of the kinds your scopes cover that were deleted, here or by their origin, in
    order of deletion (`deleted_date`, then `id`): drop them from your copy. Today only events
    are ever deleted (forums, endorsements and canvass calls end by status: `cancelled`,
    `withdrawn`), so a client without `events:read` gets an empty list."""
    if cursor is not None:
        _check_cursor(cursor)
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


def _with(paging: Paging, *, types: Sequence[Any] | None = None, **extra: Any) -> queries.Filters:
    base = paging.filters
    return queries.Filters(
        updated_since=base.updated_since, start_after=base.start_after,
        start_before=base.start_before, origin=base.origin,
        types=tuple(str(t) for t in types or ()), ward=extra.get("ward"),
        status=str(extra["status"]) if extra.get("status") is not None else None,
    )  # fmt: skip
