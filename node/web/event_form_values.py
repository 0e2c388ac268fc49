"""The event form, both ways: an event as the form's values, and the form's values as the
API's body (``EventCreate``, ``SeriesCreate``, ``EventUpdate``), with errors in plain words.

Times are typed as a date and time on the wall (``datetime-local``) plus a time zone, and read
in that zone with ``zoneinfo``; a time that a clock change skips or repeats is refused in
plain words (see ``node.events.recurrence.local_moment``) rather than guessed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from node.errors import InvalidInput
from node.events.models import (
    DEFAULT_TIMEZONE,
    END_BEFORE_START,
    MAX_OCCURRENCES,
    Event,
    EventType,
    Repeat,
    Visibility,
)
from node.events.recurrence import LocalTimeProblem, local_moment
from node.web.groups import split_list
from schemas.base import FIRST_YEAR, LAST_YEAR, problem_in_words

TEXT_FIELDS = ("title", "description", "event_type", "start", "end", "timezone", "venue",
               "address", "locality", "postal_code", "online_url", "capacity", "visibility",
               "wards", "precincts", "status", "repeat", "count", "until", "scope")  # fmt: skip

TIMEZONES = ("America/Chicago", "America/New_York", "America/Denver", "America/Phoenix",
             "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "UTC")  # fmt: skip

EVENT_TYPES = {
    EventType.MEETING: "Meeting", EventType.CANVASS: "Canvass", EventType.PHONE_BANK: "Phone bank",
    EventType.RALLY: "Rally", EventType.FORUM: "Forum", EventType.FUNDRAISER: "Fundraiser",
    EventType.TRAINING: "Training", EventType.STRIKE_SUPPORT: "Strike support",
    EventType.PETITION_DRIVE: "Petition drive", EventType.MUTUAL_AID: "Mutual aid",
    EventType.SOCIAL: "Social", EventType.OTHER: "Other",
}  # fmt: skip

VISIBILITIES = {
    Visibility.coalition: "Our members and allied groups",
    Visibility.public: "Anyone (public)",
    Visibility.private: "Only this group's organizers and members",
}

REPEATS = {
    "": "Does not repeat",
    Repeat.weekly: "Every week",
    Repeat.every_two_weeks: "Every two weeks",
    Repeat.monthly_weekday: "Every month on the same weekday (for example the 2nd Tuesday)",
}

# Where each API field is on the form.
_FORM_NAME = {"start_date": "start", "end_date": "end", "location.venue": "venue",
              "location.address_lines": "address", "location.locality": "locality",
              "location.postal_code": "postal_code"}  # fmt: skip

_PLAIN = {
    "title": "Give the event a title: one line, at most 200 characters.",
    "description": "The description can be at most 10,000 characters, without control characters.",
    "event_type": "Choose what kind of event it is from the list.",
    "timezone": "Choose a time zone from the list.",
    "start": "Give the start date and time.",
    "end": "Give the end date and time.",
    "visibility": "Choose who can see it from the list.",
    "status": "Choose confirmed or tentative.",
    "online_url": "Give the online link as a web address starting with https://, or leave it "
    "blank.",
    "capacity": "Give the number of places as a whole number (0 or more), or leave it blank "
    "for no limit.",
    "wards": "Wards are numbers from 1 to 50, separated by commas, for example: 33, 35.",
    "precincts": "Precincts are short names separated by commas, for example: 33-012, 33-014 "
    "(at most 20 characters each).",
    "venue": "The place's name can be one line of at most 200 characters.",
    "address": "The address can be at most 5 lines of 200 characters each.",
    "locality": "The city can be one line of at most 100 characters.",
    "postal_code": "The ZIP code can be at most 20 characters.",
    "repeat": "Choose how the event repeats from the list.",
    "count": f"Give how many times it happens as a whole number from 2 to {MAX_OCCURRENCES}.",
    "until": "Give the last date as a date, for example 2027-06-30.",
    "reason": "The reason can be at most 1,000 characters.",
}


def initial_values() -> dict[str, Any]:
    return {"timezone": DEFAULT_TIMEZONE, "visibility": Visibility.coalition.value,
            "event_type": EventType.MEETING.value, "status": "confirmed"}  # fmt: skip


def values_of(event: Event) -> dict[str, Any]:
    """An event as the form shows it: times on the wall clock of the event's own zone."""
    zone = ZoneInfo(event.timezone)
    location = event.location or {}
    return {
        "title": event.title, "description": event.description,
        "event_type": event.event_type.value,
        "start": event.start_date.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "end": event.end_date.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "timezone": event.timezone, "venue": location.get("venue") or "",
        "address": "\n".join(location.get("address_lines") or []),
        "locality": location.get("locality") or "",
        "postal_code": location.get("postal_code") or "", "online_url": event.online_url or "",
        "capacity": "" if event.capacity is None else str(event.capacity),
        "visibility": event.visibility.value, "wards": ", ".join(map(str, event.wards)),
        "precincts": ", ".join(event.precincts), "status": event.status.value,
    }  # fmt: skip


def read_form(form: Any) -> dict[str, str]:
    return {name: str(form.get(name, "")).strip() for name in TEXT_FIELDS}


def body_of(
    values: dict[str, str], *, stored_location: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The API body the form says, and the time errors found reading it.

    ``stored_location`` keeps what the form does not show (region, the point on the map) of
    an event made through the API, so saving the form does not drop it."""
    errors: dict[str, str] = {}
    zone = _zone(values["timezone"])
    times: dict[str, datetime | None] = {}
    for name, label in (("start", "start"), ("end", "end")):
        times[name] = None
        try:
            times[name] = _moment(values[name], zone, label=label)
        except ValueError as exc:
            errors[name] = str(exc)
    body: dict[str, Any] = {
        "title": values["title"], "description": values["description"],
        "event_type": values["event_type"], "timezone": values["timezone"],
        "start_date": times["start"], "end_date": times["end"],
        "location": _location(values, stored_location), "online_url": values["online_url"] or None,
        "capacity": values["capacity"] or None, "visibility": values["visibility"],
        "wards": split_list(values["wards"]), "precincts": split_list(values["precincts"]),
    }  # fmt: skip
    if values["repeat"]:
        body.update(repeat=values["repeat"], count=values["count"] or None,
                    until=values["until"] or None)  # fmt: skip
    return body, errors


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return None


def _moment(value: str, zone: ZoneInfo | None, *, label: str) -> datetime | None:
    if not value:
        raise ValueError(f"Give the {label} date and time.")
    try:
        wall = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"Write the {label} as a date and a time, for example 2027-04-01 18:00."
        ) from None
    if wall.tzinfo is not None:
        raise ValueError(f"Write the {label} without a time offset; choose the time zone below.")
    if not FIRST_YEAR <= wall.year <= LAST_YEAR:
        raise ValueError(f"The {label} must be in the years {FIRST_YEAR} to {LAST_YEAR}.")
    if zone is None:
        raise ValueError(f"Choose the time zone the {label} is in, from the list below.")
    try:
        return local_moment(wall, zone)
    except LocalTimeProblem as exc:
        raise ValueError(str(exc)) from None


def _location(values: dict[str, str], stored: dict[str, Any] | None) -> dict[str, Any] | None:
    lines = [line.strip() for line in values["address"].splitlines() if line.strip()]
    location = {**(stored or {}), "venue": values["venue"] or None, "address_lines": lines,
                "locality": values["locality"] or None,
                "postal_code": values["postal_code"] or None}  # fmt: skip
    if not any(value for value in location.values()):
        return None
    return location


def plain_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors as the form shows them: by form field, in words that say what to do."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if part != "body"]
        name = form_name(".".join(loc[:2]) if loc[:1] == ["location"] else (loc[0] if loc else ""))
        message = problem_in_words(error)
        if name == "form":
            name, message = _whole_form(message)
        elif message != END_BEFORE_START:  # the one rule between two fields, already in words
            message = _PLAIN.get(name, message)
        errors.setdefault(name, message)
    return errors


def form_name(api_name: str) -> str:
    return _FORM_NAME.get(api_name, api_name or "form")


def _whole_form(message: str) -> tuple[str, str]:
    if "end_date" in message:
        return "end", END_BEFORE_START
    if "count" in message:
        return "count", "Give how many times it happens or its last date: one of them, not both."
    return "form", message.removeprefix("Value error, ")


def service_error(exc: InvalidInput) -> dict[str, str]:
    """A refusal of the service, beside the field it is about."""
    loc = [str(part) for part in (exc.details[0].loc if exc.details else []) if part != "body"]
    name = form_name(loc[0] if loc else "")
    return {name: exc.message}


def merged(first: dict[str, str], then: dict[str, str]) -> dict[str, str]:
    """Errors of both, ``first`` winning for a field both name (it is more precise)."""
    return {**then, **first}
