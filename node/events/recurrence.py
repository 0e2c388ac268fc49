"""Repeating events: the rule as RFC 5545 ``RRULE`` text, its expansion, and local times.

The rule is written and read with ``icalendar``'s ``vRecur`` (the calendar library the node
already uses for its feeds) and expanded with ``python-dateutil``'s ``rrule``, the RFC 5545
engine ``icalendar`` and ``recurring-ical-events`` are built on. ``recurring-ical-events``
itself is not used: it expands whole calendars (overridden and excluded instances), whereas
a series here is expanded once, when it is made, into ordinary event rows.

Expansion runs in the event's own time zone, from a start that carries that zone: dateutil
keeps the wall-clock time of every occurrence, so a 6 pm meeting stays at 6 pm when Chicago
leaves daylight saving time (00:00 UTC before, 00:00 + 1 h after). A local time that a
clock change skips or repeats is refused with a plain message rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from icalendar import vRecur

from node.events.models import MAX_OCCURRENCES, Repeat

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}


class LocalTimeProblem(ValueError):
    """A wall-clock time that does not name one moment in its zone (a DST change)."""


class TooManyOccurrences(ValueError):
    """A rule that makes more occurrences than one series may hold, or fewer than two."""


@dataclass(frozen=True)
class Occurrence:
    start: datetime
    end: datetime


def local_moment(wall: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall-clock time ``wall`` in ``zone``, if it names exactly one moment.

    Raises :class:`LocalTimeProblem` for a time the clocks skip (2:30 on the night they spring
    forward) or pass twice (1:30 on the night they fall back)."""
    early, late = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    said = f"{_plain_time(wall)} on {_plain_date(wall.date())} in {zone.key}"
    if early.utcoffset() != late.utcoffset():
        round_trip = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if round_trip != wall:
            raise LocalTimeProblem(
                f"{said} does not exist: the clocks skip that hour. Choose another time."
            )
        raise LocalTimeProblem(
            f"{said} happens twice: the clocks go back that night. Choose another time."
        )
    return early


def nth_weekday(day: date) -> int:
    """Which of its month's weekdays ``day`` is: 1 to 4, or -1 for a fifth (always the last).

    A fifth Tuesday is not in every month; "the last Tuesday" is, and is what people mean."""
    nth = (day.day - 1) // 7 + 1
    return -1 if nth == 5 else nth


def rule_for(
    repeat: Repeat, *, first: date, zone: ZoneInfo, count: int | None, until: date | None
) -> str:
    """The RRULE text of a series starting on ``first`` (``until`` is a local date, included)."""
    parts: dict[str, Any] = {}
    if repeat is Repeat.weekly:
        parts["freq"] = "WEEKLY"
    elif repeat is Repeat.every_two_weeks:
        parts.update(freq="WEEKLY", interval=2)
    else:
        parts.update(freq="MONTHLY", byday=f"{nth_weekday(first)}{_WEEKDAYS[first.weekday()]}")
    if count is not None:
        parts["count"] = count
    if until is not None:
        # RFC 5545: with a zoned DTSTART, UNTIL is in UTC; the whole local day is included.
        last = datetime.combine(until, time(23, 59, 59), tzinfo=zone).astimezone(UTC)
        parts["until"] = last
    recur = vRecur(**parts)
    return str(recur.to_ical().decode())  # type: ignore[no-untyped-call]


def expand(rule: str, *, start: datetime, end: datetime) -> list[Occurrence]:
    """Every occurrence of ``rule`` from the first (``start`` to ``end``, aware, in the
    event's zone), each lasting the same wall-clock span.

    Raises :class:`TooManyOccurrences` beyond :data:`MAX_OCCURRENCES` or under two, and
    :class:`LocalTimeProblem` when an occurrence falls in an hour a clock change skips or
    repeats."""
    zone = start.tzinfo
    if not isinstance(zone, ZoneInfo):
        raise TypeError("a series starts at a time in a named zone")
    wall_start = start.replace(tzinfo=None)
    span = end.astimezone(zone).replace(tzinfo=None) - wall_start
    starts = []
    for moment in rrulestr(rule, dtstart=start):
        starts.append(moment.replace(tzinfo=None))
        if len(starts) > MAX_OCCURRENCES:
            raise TooManyOccurrences(
                f"A series has at most {MAX_OCCURRENCES} occurrences (two years of a weekly "
                "event); that end date makes more. Choose an earlier date or a number of times."
            )
    if len(starts) < 2:
        raise TooManyOccurrences(
            "That last date comes before the second occurrence: choose a later date, or make "
            "a one-off event instead."
        )
    return [
        Occurrence(start=local_moment(wall, zone), end=local_moment(wall + span, zone))
        for wall in starts
    ]


def shifted(moment: datetime, *, by: timedelta, zone: ZoneInfo, to: ZoneInfo) -> datetime:
    """``moment`` moved by a wall-clock change ``by``: read in ``zone``, written in ``to``."""
    wall = moment.astimezone(zone).replace(tzinfo=None) + by
    return local_moment(wall, to)


def wall_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    """``moment`` as a naive wall-clock time in ``zone``."""
    return moment.astimezone(zone).replace(tzinfo=None)


def summary(rule: str, *, first: datetime) -> str:
    """The rule in words: ``Every week, 10 times``, ``Every month on the 2nd Tuesday, until
    Tue 2 Mar 2027``."""
    recur = vRecur.from_ical(rule)
    freq = recur.get("FREQ", [""])[0]
    interval = int(recur.get("INTERVAL", [1])[0])
    if freq == "MONTHLY":
        byday = str(recur.get("BYDAY", [""])[0])
        nth, weekday = int(byday[:-2] or 1), byday[-2:]
        day_name = _DAY_NAMES[_WEEKDAYS.index(weekday)] if weekday in _WEEKDAYS else "weekday"
        words = f"Every month on the {_ORDINALS.get(nth, str(nth))} {day_name}"
    elif interval == 2:
        words = "Every two weeks"
    else:
        words = "Every week"
    if "COUNT" in recur:
        return f"{words}, {int(recur['COUNT'][0])} times"
    if "UNTIL" in recur:
        last = recur["UNTIL"][0]
        zone = first.tzinfo
        if isinstance(last, datetime) and zone is not None:
            last = last.astimezone(zone).date()
        return f"{words}, until {_plain_date(last)}"
    return words


def _plain_date(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def _plain_time(wall: datetime) -> str:
    return f"{wall:%H:%M}"
