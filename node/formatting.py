"""How every page says a date or a time: one way, in plain words, in the event's own zone.

The page templates use these as Jinja filters (registered in :func:`node.web.rendering.templates`);
Python code building a notice calls the same functions (``-`` below is an en dash)::

    {{ start|when(end, tz) }}   Tue, Dec 8, 6:00-8:00 pm CST
                                Tue, Dec 8, 11:00 am-1:00 pm CST
                                Tue, Dec 8, 10:00 pm - Wed, Dec 9, 1:00 am CST
    {{ at|moment }}             Tue, Dec 8, 6:00 pm CST   (one instant: made, sent, deadline)
    {{ at|day }}                Tue, Dec 8               (a day heading; takes a date too)
    {{ start|hours(end, tz) }}  6:00-8:00 pm CST         (under a heading naming the day)
    {{ at|time }}               6:00 pm
    {{ first|month }}           December 2026

A day outside the reader's current year carries the year (``Fri, Jan 8, 2027``), as a printed
calendar does; within it the year is noise. Times are in ``tz``, an IANA name or a zone, and
Chicago when none is given (every event has its own; a timestamp of the node's, such as when an
address was made, is said in Chicago time, where the group is). The zone's abbreviation ends
every time of day, so "6:00 pm" is never read in the wrong zone.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from federation.storage import utcnow
from node.events.models import DEFAULT_TIMEZONE

Zone = str | tzinfo | None

HOME = ZoneInfo(DEFAULT_TIMEZONE)
EN_DASH = "\u2013"  # between two times, as print sets a range


def zone_of(tz: Zone) -> tzinfo:
    """``tz`` as a zone; Chicago for none, and for a name this machine does not know (an
    ally's stored zone was checked by the ally's tz database, not necessarily ours)."""
    if tz is None:
        return HOME
    if not isinstance(tz, str):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return HOME


def _local(moment: datetime, tz: Zone) -> datetime:
    return moment.astimezone(zone_of(tz))


def _clock(local: datetime) -> str:
    """``6:00`` (no am/pm: the caller adds it once for a range)."""
    return f"{local.hour % 12 or 12}:{local.minute:02d}"


def _meridiem(local: datetime) -> str:
    return "am" if local.hour < 12 else "pm"


def time(moment: datetime, tz: Zone = None) -> str:
    """``6:00 pm``."""
    local = _local(moment, tz)
    return f"{_clock(local)} {_meridiem(local)}"


def day(value: date | datetime, tz: Zone = None) -> str:
    """``Tue, Dec 8``; ``Fri, Jan 8, 2027`` outside the current year."""
    local = _local(value, tz).date() if isinstance(value, datetime) else value
    text = f"{local:%a}, {local:%b} {local.day}"
    if local.year != utcnow().astimezone(zone_of(tz)).year:
        text += f", {local.year}"
    return text


def long_day(value: date) -> str:
    """``Tuesday, December 8``: a day heading spelled out (the agenda's)."""
    text = f"{value:%A}, {value:%B} {value.day}"
    return text + (f", {value.year}" if value.year != utcnow().astimezone(HOME).year else "")


def month(value: date) -> str:
    """``December 2026``."""
    return f"{value:%B} {value.year}"


def moment(value: datetime | None, tz: Zone = None) -> str:
    """``Tue, Dec 8, 6:00 pm CST``; empty for no time at all."""
    if value is None:
        return ""
    local = _local(value, tz)
    return f"{day(local, tz)}, {time(local, tz)} {local.tzname()}"


def when(start: datetime, end: datetime | None = None, tz: Zone = None) -> str:
    """A span in one line: ``Tue, Dec 8, 6:00-8:00 pm CST`` (an en dash), the end's day only
    when it is another day, its zone only when the clocks changed in between."""
    if end is None:
        return moment(start, tz)
    first, last = _local(start, tz), _local(end, tz)
    if first.date() != last.date() or first.tzname() != last.tzname():
        if first.tzname() == last.tzname():
            return f"{day(first, tz)}, {time(first, tz)} {EN_DASH} {moment(last, tz)}"
        return f"{moment(first, tz)} {EN_DASH} {moment(last, tz)}"
    return f"{day(first, tz)}, {hours(start, end, tz)}"


def hours(start: datetime, end: datetime, tz: Zone = None) -> str:
    """The times alone, under a heading that names the day: ``6:00-8:00 pm CST`` (an en
    dash); the whole :func:`when` for a span that does not fit in one day."""
    first, last = _local(start, tz), _local(end, tz)
    if first.date() != last.date() or first.tzname() != last.tzname():
        return when(start, end, tz)
    if _meridiem(first) == _meridiem(last):
        text = f"{_clock(first)}{EN_DASH}{_clock(last)} {_meridiem(last)}"
    else:
        text = f"{time(first, tz)}{EN_DASH}{time(last, tz)}"
    return f"{text} {last.tzname()}"


FILTERS = {"when": when, "hours": hours, "moment": moment, "day": day, "long_day": long_day,
           "time": time, "month": month}  # fmt: skip
