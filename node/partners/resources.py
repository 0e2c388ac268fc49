"""HTTP routes of the partner read API, ``/api/v1/partner/...`` (HTTP only).

Organizations, events and forums, and what every partner route shares (the scope aliases,
paging, the 404); endorsements, canvass calls and the deleted feed are in
``resources_coalition``. Each route: the scope it needs (``require_scope``), the query from
``queries``, the mapper from ``representations``, and the answer through
``etag.conditional_json``. Which rows a partner may see is decided in ``queries``; what of a
row it sees, in ``representations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AwareDatetime

from node.deps import SessionDep, SettingsDep
from node.errors import ERROR_RESPONSES, InvalidInput, NotFound
from node.events.models import Event, EventStatus, EventType
from node.forums.models import ForumPlan
from node.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, next_link, paginate
from node.partners import docs, queries
from node.partners import representations as rep
from node.partners import representations_coalition as coalition
from node.partners.auth import PartnerPrincipal, require_scope
from node.partners.etag import conditional_json
from node.partners.examples import EXAMPLES

router = APIRouter(
    prefix=docs.PREFIX, tags=["partner"], responses={**ERROR_RESPONSES, **docs.ERRORS}
)

Events = Annotated[PartnerPrincipal, require_scope("events:read")]
Forums = Annotated[PartnerPrincipal, require_scope("forums:read")]
Endorsements = Annotated[PartnerPrincipal, require_scope("endorsements:read")]
Canvass = Annotated[PartnerPrincipal, require_scope("canvass:read")]
Organizations = Annotated[PartnerPrincipal, require_scope("organizations:read")]
ObjectKey = Annotated[str, Path(min_length=1, max_length=64, description="The object's `id`.")]


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
        check_cursor(cursor)
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


def check_cursor(cursor: str) -> None:
    """A cursor is ours only if it decodes to (a time, an id): anything else is refused here,
    before it reaches SQL."""
    moment, key = decode_cursor(cursor, width=2)
    if not isinstance(moment, datetime) or moment.tzinfo is None or not isinstance(key, str):
        raise InvalidInput(
            "This cursor is not valid; start again without `cursor`.", field=["query", "cursor"]
        )


def filters_with(
    paging: Paging, *, types: Sequence[Any] | None = None, **extra: Any
) -> queries.Filters:
    base = paging.filters
    return queries.Filters(
        updated_since=base.updated_since,
        start_after=base.start_after,
        start_before=base.start_before,
        origin=base.origin,
        types=tuple(str(t) for t in types or ()),
        ward=extra.get("ward"),
        status=str(extra["status"]) if extra.get("status") is not None else None,
    )


PagingDep = Annotated[Paging, Depends(paging)]
Ward = Annotated[int | None, Query(ge=1, le=50, description="Only what touches this ward.")]


async def page_of(
    request: Request, session: SessionDep, query: Any, model: Any, paging: Paging
) -> tuple[list[Any], str | None, str | None]:
    rows, cursor = await paginate(
        session, query, order_by=queries.ordering(model), limit=paging.limit, cursor=paging.cursor
    )
    return rows, cursor, next_link(request, cursor)


def missing(kind: str, row_id: str) -> PartnerObjectNotFound:
    return PartnerObjectNotFound(f"No {kind} {row_id} for this client.")


# ---- organizations --------------------------------------------------------------------------


@router.get(
    "/organizations",
    summary="List this node and its allies",
    response_model=Page[coalition.PartnerOrganization],
    responses={**docs.ok(docs.page_example(EXAMPLES["organization"])), **docs.NOT_MODIFIED},
)
async def list_organizations(
    request: Request,
    response: Response,
    partner: Organizations,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """This node (`relation: self`) and every organization it is allied with now, with the
    ids of their published keys (to check signatures) and what each alliance shares. One page:
    a coalition has tens of members, not thousands."""
    keyring = request.app.state.federation.keyring()
    items = [
        coalition.PartnerOrganization(
            id=settings.public_url,
            identifiers=rep.identifiers_of(settings.public_url),
            name=settings.name,
            org_type=settings.kind,
            wards=list(settings.wards),
            relation="self",
            key_ids=[key["kid"] for key in keyring.jwks()["keys"]],
            shares=["events", "forums", "endorsements", "canvass"],
        )
    ]
    for peer in await queries.current_allies(session):
        items.append(
            coalition.PartnerOrganization(
                id=peer.node_id,
                identifiers=rep.identifiers_of(peer.node_id),
                name=peer.name,
                org_type=peer.kind,
                wards=list(peer.wards),
                relation="ally",
                key_ids=[key.get("kid", "") for key in peer.keys.get("keys", [])],
                shares=sorted(peer.scopes),
            )
        )
    page = Page[coalition.PartnerOrganization](items=items, next_cursor=None, next=None)
    return conditional_json(request, response, page)


# ---- events ---------------------------------------------------------------------------------


@router.get(
    "/events",
    summary="List events",
    response_model=Page[rep.PartnerEvent],
    responses={**docs.ok(docs.page_example(EXAMPLES["event"])), **docs.NOT_MODIFIED},
)
async def list_events(
    request: Request,
    response: Response,
    partner: Events,
    session: SessionDep,
    settings: SettingsDep,
    paging: PagingDep,
    ward: Ward = None,
    type: Annotated[list[EventType] | None, Query(description="Repeat for several.")] = None,
    status: EventStatus | None = None,
) -> Response:
    """Events of this node and its allies that are `public` or `coalition` (forums included,
    `event_type` FORUM), not deleted. Filters combine with AND."""
    known = await queries.known_origins(session, settings=settings)
    filters = filters_with(paging, types=type, ward=ward, status=status)
    query = queries.events(trusted=known.trusted, filters=filters)
    rows, cursor, link = await page_of(request, session, query, Event, paging)
    items = [rep.event_of(row, origins=known.origins) for row in rows]
    return conditional_json(
        request, response, {"items": items, "next_cursor": cursor, "next": link}
    )


@router.get(
    "/events/{event_id}",
    summary="Get one event",
    response_model=rep.PartnerEvent,
    responses={**docs.ok(EXAMPLES["event"]), **docs.NOT_MODIFIED, **docs.not_found("event")},
)
async def get_event(
    request: Request,
    response: Response,
    partner: Events,
    session: SessionDep,
    settings: SettingsDep,
    event_id: ObjectKey,
) -> Response:
    """One event by its `id`. A deleted, private or unknown event is 404 alike."""
    known = await queries.known_origins(session, settings=settings)
    query = queries.events(trusted=known.trusted, filters=queries.Filters())
    row = await queries.by_id(session, query, Event, event_id)
    if row is None:
        raise missing("event", event_id)
    return conditional_json(request, response, rep.event_of(row, origins=known.origins))


# ---- forums ---------------------------------------------------------------------------------


@router.get(
    "/forums",
    summary="List candidate forums",
    response_model=Page[rep.PartnerForum],
    responses={**docs.ok(docs.page_example(EXAMPLES["forum"])), **docs.NOT_MODIFIED},
)
async def list_forums(
    request: Request,
    response: Response,
    partner: Forums,
    session: SessionDep,
    settings: SettingsDep,
    paging: PagingDep,
    status: EventStatus | None = None,
) -> Response:
    """Forum plans of this node and its allies that are `public` or `coalition`: co-hosts,
    roles, invited candidates and the agenda. Co-hosts' questions and tasks stay internal."""
    known = await queries.known_origins(session, settings=settings)
    query = queries.forums(trusted=known.trusted, filters=filters_with(paging, status=status))
    rows, cursor, link = await page_of(request, session, query, ForumPlan, paging)
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
    request: Request,
    response: Response,
    partner: Forums,
    session: SessionDep,
    settings: SettingsDep,
    forum_id: ObjectKey,
) -> Response:
    """One forum plan by its `id`."""
    known = await queries.known_origins(session, settings=settings)
    query = queries.forums(trusted=known.trusted, filters=queries.Filters())
    row = await queries.by_id(session, query, ForumPlan, forum_id)
    if row is None:
        raise missing("forum", forum_id)
    return conditional_json(request, response, rep.forum_of(row, origins=known.origins))
