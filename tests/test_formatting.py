"""Times as every page says them (node/web/formatting.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from federation.storage import utcnow
from node import formatting

CHICAGO = ZoneInfo("America/Chicago")
DASH = "\u2013"  # an en dash, between two times
YEAR = utcnow().astimezone(CHICAGO).year


def local(month: int, day: int, hour: int, minute: int = 0, year: int = YEAR) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


class TestASpan:
    def test_within_one_half_of_the_day_am_or_pm_is_said_once(self) -> None:
        text = formatting.when(local(12, 8, 18, year=2037), local(12, 8, 20, year=2037))
        assert text == f"Tue, Dec 8, 2037, 6:00{DASH}8:00 pm CST"

    def test_across_noon_both_are_said(self) -> None:
        text = formatting.when(local(12, 8, 11, 30), local(12, 8, 13))
        assert text == f"{formatting.day(date(YEAR, 12, 8))}, 11:30 am{DASH}1:00 pm CST"

    def test_across_midnight_the_end_says_its_day(self) -> None:
        text = formatting.when(local(12, 8, 22, year=2037), local(12, 9, 1, year=2037))
        assert text == f"Tue, Dec 8, 2037, 10:00 pm {DASH} Wed, Dec 9, 2037, 1:00 am CST"

    def test_when_the_clocks_change_each_end_says_its_zone(self) -> None:
        text = formatting.when(local(3, 7, 22, year=2037), local(3, 8, 4, year=2037))
        assert text == f"Sat, Mar 7, 2037, 10:00 pm CST {DASH} Sun, Mar 8, 2037, 4:00 am CDT"

    def test_in_the_events_own_zone(self) -> None:
        start = datetime(2037, 6, 1, 15, tzinfo=UTC)
        text = formatting.when(start, start.replace(hour=16), "America/New_York")
        assert text == f"Mon, Jun 1, 2037, 11:00 am{DASH}12:00 pm EDT"

    def test_hours_alone_unless_it_runs_into_another_day(self) -> None:
        assert formatting.hours(local(12, 8, 0), local(12, 8, 0, 45)) == f"12:00{DASH}12:45 am CST"
        assert "Dec 9" in formatting.hours(local(12, 8, 22), local(12, 9, 1))


class TestOneMoment:
    def test_a_utc_timestamp_is_said_in_chicago_time(self) -> None:
        at = datetime(2037, 1, 2, 0, 5, tzinfo=UTC)
        assert formatting.moment(at) == "Thu, Jan 1, 2037, 6:05 pm CST"
        assert formatting.time(at) == "6:05 pm"
        assert formatting.moment(None) == ""

    def test_the_year_only_outside_this_one(self) -> None:
        assert formatting.day(date(YEAR, 7, 4)).count(",") == 1
        assert formatting.day(date(YEAR + 1, 7, 4)).endswith(f", {YEAR + 1}")
        assert formatting.month(date(2037, 2, 1)) == "February 2037"
        assert formatting.long_day(date(2037, 2, 3)) == "Tuesday, February 3, 2037"
