"""The coalition calendar page: an agenda, a week or a month of what is on, with a today mark.

Entries come from :func:`node.events.coalition_feed.gather`, the same list the coalition ICS
feed serves, so the page and a subscribed phone agree. Every part of a view is a query
parameter (the view, the dates it shows, the ward, type and group filters), so a view can be
bookmarked and shared, and the view switch and the previous/next links are plain links::

    ?view=agenda&from=2026-12-08&to=2027-01-04   the days from..to, four weeks unless told
    ?view=week&from=2026-12-08                   the week (Sunday first) holding that day
    ?view=month&month=2026-12                    the month grid, a week into the months beside

Each entry links to its own page: an event to ``/events/{id}`` (ours and allies' replicas, by
the local id), a forum to ``/forums/{id}``, a canvass shift to its call, ``/canvass/{id}``. Her
own feed address is made on :mod:`node.web.calendar_feed`.
"""

from __future__ import annotations

import calendar as calendar_grid
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from federation.storage import utcnow
from node import formatting
from node.accounts import service as accounts
from node.deps import SessionDep, SettingsDep
from node.errors import InvalidInput
from node.events import coalition_feed, sharing
from node.events.coalition_feed import SHIFT_TYPE, TYPES, Entry
from node.events.models import DEFAULT_TIMEZONE
from node.web.deps import PageUser, WardQuery
from node.web.rendering import page_router, render
from schemas.base import FIRST_YEAR, LAST_YEAR

router = page_router()

ZONE = ZoneInfo(DEFAULT_TIMEZONE)
TYPE_LABELS = {SHIFT_TYPE: "Canvass shift", "PHONE_BANK": "Phone bank", "MUTUAL_AID": "Mutual aid"}
View = Literal["agenda", "week", "month"]
VIEW_LABELS: tuple[tuple[View, str], ...] = (
    ("agenda", "Agenda"),
    ("week", "Week"),
    ("month", "Month"),
)
# "list" is the agenda's old name, still in bookmarks.
VIEWS: dict[str, View] = {"agenda": "agenda", "week": "week", "month": "month", "list": "agenda"}
AGENDA_DAYS = 28
LONGEST_AGENDA = 366  # days: a year at a time at most, so one page stays one query


def type_label(value: str) -> str:
    return TYPE_LABELS.get(value) or value.replace("_", " ").capitalize()


def today() -> date:
    return utcnow().astimezone(ZONE).date()


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

    def url(self, view: View, day: date) -> str:
        """The calendar address of ``view`` at ``day``, in its default length."""
        if view == "month":
            return "/calendar?" + self.query(view=view, month=f"{day:%Y-%m}")
        return "/calendar?" + self.query(view=view, **{"from": day.isoformat()})

    def link(self, span: Span) -> str:
        """The calendar address that shows ``span``."""
        if span.view == "agenda":
            dates = {"from": span.first.isoformat(), "to": span.last.isoformat()}
            return "/calendar?" + self.query(view=span.view, **dates)
        return self.url(span.view, span.month or span.first)


@dataclass(frozen=True)
class Span:
    """The days a view shows, ``first`` to ``last`` inclusive, and its neighbours."""

    view: View
    first: date
    last: date
    month: date | None = None  # the month view's month (its grid reaches past it)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def neighbours(self) -> tuple[Span, Span]:
        if self.view == "month" and self.month is not None:
            before = (self.month - timedelta(days=1)).replace(day=1)
            after = (self.month.replace(day=28) + timedelta(days=10)).replace(day=1)
            return month_span(before), month_span(after)
        step = timedelta(days=self.days)
        return (
            Span(self.view, self.first - step, self.last - step),
            Span(self.view, self.first + step, self.last + step),
        )

    def window(self) -> tuple[datetime, datetime]:
        """What to gather, in UTC: what is not over when the first day begins, and starts
        before the day after the last."""
        start = datetime.combine(self.first, datetime.min.time(), tzinfo=ZONE)
        end = datetime.combine(self.last + timedelta(days=1), datetime.min.time(), tzinfo=ZONE)
        return start.astimezone(UTC), end.astimezone(UTC)

    def shown(self) -> bool:
        """Whether the calendar shows these years (the wire's)."""
        return self.first.year >= FIRST_YEAR and self.last.year <= LAST_YEAR


@dataclass
class Day:
    day: date
    in_month: bool
    entries: list[Entry] = field(default_factory=list)


def _filters(ward: int | None, type: str | None, group: str | None) -> Filters:
    if type and type not in TYPES:
        raise InvalidInput(f"There is no event type {type!r}.", field=["query", "type"])
    return Filters(ward=ward, type=type or None, group=group or None)


def _view(value: str | None) -> View:
    view = VIEWS.get((value or "agenda").strip())
    if view is None:
        raise InvalidInput("The calendar view is agenda, week or month.", field=["query", "view"])
    return view


def _in_years(value: date, name: str) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise InvalidInput(
            f"The calendar shows the years {FIRST_YEAR} to {LAST_YEAR}.", field=["query", name]
        )
    return value


def _month(value: str | None) -> date | None:
    if not value:
        return None
    try:
        first = datetime.strptime(value.strip(), "%Y-%m").date()
    except ValueError:
        raise InvalidInput(
            "Give the month as year-month, e.g. 2026-12.", field=["query", "month"]
        ) from None
    return _in_years(first, "month")


def _date(value: str | None, name: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    example = "2026-12-08"
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"Give the {name} date as year-month-day, e.g. {example}.", field=["query", name]
        ) from None
    return _in_years(day, name)


def month_span(first: date) -> Span:
    grid = calendar_grid.Calendar(firstweekday=6).monthdatescalendar(first.year, first.month)
    return Span("month", grid[0][0], grid[-1][-1], month=first)


def week_span(day: date) -> Span:
    """The week holding ``day``, Sunday first as Chicago calendars print them."""
    sunday = day - timedelta(days=(day.weekday() + 1) % 7)
    return Span("week", sunday, sunday + timedelta(days=6))


def _span(view: View, *, start: date | None, end: date | None, month: date | None) -> Span:
    anchor = start or today()
    if view == "month":
        return month_span(month or anchor.replace(day=1))
    if view == "week":
        return week_span(anchor)
    last = end or anchor + timedelta(days=AGENDA_DAYS - 1)
    if last < anchor:
        raise InvalidInput(
            "The to date is before the from date: give a to date on or after it.",
            field=["query", "to"],
        )
    if (last - anchor).days >= LONGEST_AGENDA:
        raise InvalidInput(
            "The agenda shows a year at most: give from and to dates closer together.",
            field=["query", "to"],
        )
    return Span("agenda", anchor, last)


def _by_day(entries: list[Entry], span: Span) -> dict[date, list[Entry]]:
    """Entries by the day they start on, in Chicago; what began before the span shows on its
    first day (it is still on)."""
    days: dict[date, list[Entry]] = {}
    for entry in entries:
        day = max(entry.item.start.astimezone(ZONE).date(), span.first)
        days.setdefault(day, []).append(entry)
    return days


def _grid(span: Span, days: dict[date, list[Entry]]) -> list[list[Day]]:
    """The span's weeks, seven days each, every day with its entries."""
    count = span.days
    all_days = [span.first + timedelta(days=i) for i in range(count)]
    month = span.month
    cells = [
        Day(day, month is None or day.month == month.month, days.get(day, [])) for day in all_days
    ]
    return [cells[i : i + 7] for i in range(0, count, 7)]


def _title(span: Span) -> str:
    if span.view == "month" and span.month is not None:
        return formatting.month(span.month)
    if span.view == "week":
        return f"Week of {formatting.day(span.first)}"
    return f"{formatting.day(span.first)} to {formatting.day(span.last)}"


@router.get("/calendar")
async def calendar_page(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    ward: WardQuery,
    view: str | None = None,
    month: str | None = None,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    type: str | None = None,
    group: str | None = None,
) -> HTMLResponse:
    filters = _filters(ward, type, group)
    chosen = _view(view)
    span = _span(
        chosen,
        start=_date(start, "from"),
        end=_date(end, "to"),
        month=_month(month),
    )
    ends_after, starts_before = span.window()
    entries = await coalition_feed.gather(
        session,
        role=principal.role,
        settings=settings,
        ends_after=ends_after,
        starts_before=starts_before,
    )
    shown = [entry for entry in entries if filters.keep(entry)]
    days = _by_day(shown, span)
    origins = await sharing.origins(session, settings=settings)
    now = today()
    previous, following = span.neighbours()
    # Switching views keeps the day in view: today if it is in this one, else its first day.
    anchor = now if span.first <= now <= span.last else (span.month or span.first)
    return render(
        request,
        "calendar.html",
        {
            "view": chosen,
            "span": span,
            "title": _title(span),
            "today": now,
            "filters": filters,
            "entries": shown,
            "days": sorted(days.items()),
            "weeks": _grid(span, days) if chosen != "agenda" else [],
            "previous_url": filters.link(previous) if previous.shown() else None,
            "next_url": filters.link(following) if following.shown() else None,
            "today_url": None if span.first <= now <= span.last else filters.url(chosen, now),
            "view_urls": [(name, label, filters.url(name, anchor)) for name, label in VIEW_LABELS],
            "clear_url": filters.url(chosen, span.month or span.first),
            "types": [(value, type_label(value)) for value in TYPES],
            "groups": sorted(
                ((node_id, o.name, o.relation) for node_id, o in origins.items()),
                key=lambda g: (g[2] != "this_node", g[1].lower()),
            ),
            "type_label": type_label,
            "my_feed": await accounts.get_feed_secret(session, user=principal.user),
            "public_feed_url": f"{settings.public_url}/calendar.ics",
        },
    )
