"""The coalition calendar page: a list of what is coming up, or a month grid.

Entries come from :func:`node.events.coalition_feed.gather`, the same list the coalition ICS
feed serves, so the page and a subscribed phone agree. Filters narrow it by ward, type and
origin group; they are query parameters, so a filtered view can be bookmarked and shared.

The page is also where a user makes, replaces and turns off her own feed address. Only its
hash is kept, so the address is shown once, on the page that answers making it (not cached);
replacing or turning it off breaks her subscribed calendar apps, so both ask first.
"""

from __future__ import annotations

import calendar as calendar_grid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from federation.storage import utcnow
from node.accounts import service as accounts
from node.deps import SessionDep, SettingsDep
from node.errors import Conflict, InvalidInput
from node.events import coalition_feed, sharing
from node.events.coalition_feed import SHIFT_TYPE, TYPES, Entry
from node.events.models import DEFAULT_TIMEZONE
from node.web.deps import PageUser, WardQuery
from node.web.rendering import page_router, redirect, render
from schemas.base import FIRST_YEAR, LAST_YEAR

router = page_router()

ZONE = ZoneInfo(DEFAULT_TIMEZONE)
TYPE_LABELS = {SHIFT_TYPE: "Canvass shift", "PHONE_BANK": "Phone bank", "MUTUAL_AID": "Mutual aid"}


def type_label(value: str) -> str:
    return TYPE_LABELS.get(value) or value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Filters:
    ward: int | None = None
    type: str | None = None
    group: str | None = None

    def keep(self, entry: Entry) -> bool:
        return (
            (self.ward is None or self.ward in entry.wards)
            and (self.type is None or entry.type == self.type)
            and (self.group is None or entry.origin == self.group)
        )

    def query(self, **extra: str) -> str:
        values = {"ward": self.ward, "type": self.type, "group": self.group, **extra}
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


@dataclass
class Day:
    day: date
    in_month: bool
    entries: list[Entry] = field(default_factory=list)


def _filters(ward: int | None, type: str | None, group: str | None) -> Filters:
    if type and type not in TYPES:
        raise InvalidInput(f"There is no event type {type!r}.", field=["query", "type"])
    return Filters(ward=ward, type=type or None, group=group or None)


def _month(value: str | None) -> date:
    if not value:
        today = utcnow().astimezone(ZONE).date()
        return today.replace(day=1)
    try:
        first = datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise InvalidInput(
            "Give the month as year-month, e.g. 2026-12.", field=["query", "month"]
        ) from None
    # The grid reaches a week into the months either side; the wire's years bound it.
    if not FIRST_YEAR <= first.year <= LAST_YEAR:
        raise InvalidInput(
            f"The calendar shows the years {FIRST_YEAR} to {LAST_YEAR}.", field=["query", "month"]
        )
    return first


def _weeks(first: date, entries: list[Entry]) -> list[list[Day]]:
    """The month's weeks, Sunday first as Chicago calendars print them, with their entries."""
    grid = calendar_grid.Calendar(firstweekday=6).monthdatescalendar(first.year, first.month)
    days = {day: Day(day, day.month == first.month) for week in grid for day in week}
    for entry in entries:
        local = entry.item.start.astimezone(ZONE).date()
        if local in days:
            days[local].entries.append(entry)
    return [[days[day] for day in week] for week in grid]


def _by_day(entries: list[Entry]) -> list[tuple[date, list[Entry]]]:
    groups: dict[date, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.item.start.astimezone(ZONE).date(), []).append(entry)
    return list(groups.items())


def _window(first: date) -> tuple[datetime, datetime]:
    start = datetime(first.year, first.month, 1, tzinfo=ZONE) - timedelta(days=7)
    after = (first.replace(day=28) + timedelta(days=10)).replace(day=1)
    return start.astimezone(UTC), (
        datetime(after.year, after.month, 1, tzinfo=ZONE) + timedelta(days=7)
    ).astimezone(UTC)


@router.get("/calendar")
async def calendar_page(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    ward: WardQuery,
    view: Literal["list", "month"] = "list",
    month: str | None = None,
    type: str | None = None,
    group: str | None = None,
) -> HTMLResponse:
    filters = _filters(ward, type, group)
    is_month = view == "month"
    first = _month(month)
    if is_month:
        ends_after, starts_before = _window(first)
    else:
        ends_after, starts_before = utcnow(), None
    entries = await coalition_feed.gather(
        session,
        role=principal.role,
        settings=settings,
        ends_after=ends_after,
        starts_before=starts_before,
    )
    shown = [entry for entry in entries if filters.keep(entry)]
    origins = await sharing.origins(session, settings=settings)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first.replace(day=28) + timedelta(days=10)).replace(day=1)
    return render(
        request,
        "calendar.html",
        {
            "is_month": is_month,
            "filters": filters,
            "entries": shown,
            "days": _by_day(shown),
            "weeks": _weeks(first, shown) if is_month else [],
            "first": first,
            "previous_url": "/calendar?" + filters.query(view="month", month=f"{previous:%Y-%m}"),
            "next_url": "/calendar?" + filters.query(view="month", month=f"{following:%Y-%m}"),
            "list_url": "/calendar?" + filters.query(),
            "month_url": "/calendar?" + filters.query(view="month", month=f"{first:%Y-%m}"),
            "types": [(value, type_label(value)) for value in TYPES],
            "groups": sorted(
                ((node_id, o.name, o.relation) for node_id, o in origins.items()),
                key=lambda g: (g[2] != "this_node", g[1].lower()),
            ),
            "type_label": type_label,
            "zone": ZONE,
            "my_feed": await accounts.get_feed_secret(session, user=principal.user),
            "public_feed_url": f"{settings.public_url}/calendar.ics",
        },
    )


@router.post("/calendar/feed")
async def make_feed(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    replace: Annotated[str, Form()] = "",
) -> Response:
    """Make her feed address, or replace it once she confirmed; the answer shows it once."""
    if replace != "yes" and await accounts.get_feed_secret(session, user=principal.user):
        # A second tab, or a stale page: replacing breaks her calendar apps, so it is asked.
        raise Conflict(
            "You already have a calendar feed address. To replace it, use "
            "Make a new address on the calendar page and confirm."
        )
    feed, secret = await accounts.make_feed_secret(
        session, user=principal.user, actor=principal.actor
    )
    response = render(
        request,
        "calendar_feed.html",
        {
            "url": coalition_feed.feed_url(settings, secret),
            "created_at": feed.created_at,
            "zone": ZONE,
        },
        status_code=201,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/calendar/feed/revoke")
async def revoke_feed(principal: PageUser, session: SessionDep) -> Response:
    await accounts.revoke_feed_secret(session, user=principal.user, actor=principal.actor)
    return redirect(
        "/calendar#feeds",
        notice="Your calendar feed address is turned off: calendar apps using it get nothing.",
    )
