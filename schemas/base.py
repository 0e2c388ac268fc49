"""What every wire model shares: strictness at the boundary, URL and place types.

Every model that crosses between nodes derives from :class:`WireModel`. Unknown fields are
rejected, never silently kept, so a peer learns at once that it speaks another version of the
protocol; models are immutable once parsed. A receiver validates in strict mode
(``federation.inbox``): no value is coerced, so ``"2"`` is not a version and ``true`` is not a
count, exactly as a stock JSON Schema validator with ``schemas/json/`` decides.

Timestamps are RFC 3339 with an offset (:data:`Timestamp`): a naive time would silently shift
by a server's local offset. Integers stay within a signed 32-bit integer
(:data:`MAX_WIRE_INTEGER`): what RFC 8785 signs exactly, what a SQL ``INTEGER`` column stores
and what every language's default integer holds, so a value can never pass here and then break
at signing or in a database column.

Identifiers are absolute ``http(s)`` URLs written as plain strings (no normalisation on the
way in, so an id compares equal only to itself). Which node an id belongs to is decided by
:func:`schemas.origin.same_origin`, never by string prefixes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from schemas.origin import origin_of

MAX_URL_LENGTH = 2048

# The JSON Schema patterns carry the shape other implementations must check; the Python
# validators below add what a pattern cannot say (a valid host, an in-range port).
_HTTP_URL_PATTERN = r"^https?://[^\s/?#@\\]+(/[^\s?#\\]*)?(\?[^\s#\\]*)?$"
_NODE_ID_PATTERN = r"^https?://[^\s/?#@\\]+$"


class WireModel(BaseModel):
    """Base of every model that crosses between nodes: unknown fields rejected, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _check_http_url(value: str) -> str:
    if not value.isascii():
        raise ValueError("URLs on the wire are ASCII: write international host names in punycode")
    origin_of(value)
    if "#" in value:
        raise ValueError("URLs on the wire carry no fragment")
    return value


def _check_node_id(value: str) -> str:
    _check_http_url(value)
    if urlsplit(value).path or urlsplit(value).query:
        raise ValueError(
            "a node id is an origin: scheme, host and port, with no path, query or trailing slash"
        )
    return value


AbsoluteUrl = Annotated[
    str,
    Field(
        min_length=8,
        max_length=MAX_URL_LENGTH,
        pattern=_HTTP_URL_PATTERN,
        json_schema_extra={"format": "uri"},
    ),
    AfterValidator(_check_http_url),
]
"""An absolute ``http`` or ``https`` URL: ASCII, a valid host, no user information or fragment."""

ObjectId = AbsoluteUrl
"""The globally unique id of an activity or shared object: a URL under its origin node."""

NodeId = Annotated[
    str,
    Field(
        min_length=8,
        max_length=MAX_URL_LENGTH,
        pattern=_NODE_ID_PATTERN,
        json_schema_extra={"format": "uri"},
    ),
    AfterValidator(_check_node_id),
]
"""A node's id: its origin, for example ``https://33wf.example``: no path, no trailing slash.

One node per origin is what makes "authored under the sender's origin" (FEDERATION.md 4.4)
exact: were ids allowed paths, two nodes on one host could author ids under each other's."""

_C0_C1 = r"\u0000-\u001f\u007f-\u009f"
_C0_C1_BUT_LINE_BREAKS_AND_TABS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"

LINE_PATTERN = f"^[^{_C0_C1}]*$"
NON_BLANK_LINE_PATTERN = f"^[^{_C0_C1}]*[^\\s{_C0_C1}][^{_C0_C1}]*$"
TEXT_PATTERN = f"^[^{_C0_C1_BUT_LINE_BREAKS_AND_TABS}]*$"
NON_BLANK_TEXT_PATTERN = (
    f"^[^{_C0_C1_BUT_LINE_BREAKS_AND_TABS}]*[^\\s{_C0_C1_BUT_LINE_BREAKS_AND_TABS}]"
    f"[^{_C0_C1_BUT_LINE_BREAKS_AND_TABS}]*$"
)
ONE_LINE_RULE = "must be one line without control characters (tabs, escapes)"
FREE_TEXT_RULE = "must not contain control characters other than line breaks and tabs"

Line = Annotated[str, Field(pattern=LINE_PATTERN)]
"""One line of text: no control characters at all (no tab, newline or escape)."""

NonBlankLine = Annotated[str, Field(pattern=NON_BLANK_LINE_PATTERN)]
"""One line of text with at least one character that is not a space."""

Text = Annotated[str, Field(pattern=TEXT_PATTERN)]
"""Free text: newlines, carriage returns and tabs, but no other control character."""

NonBlankText = Annotated[str, Field(pattern=NON_BLANK_TEXT_PATTERN)]
"""Free text with at least one character that is not a space."""

_TEXT_RULES = {
    LINE_PATTERN: ONE_LINE_RULE,
    NON_BLANK_LINE_PATTERN: f"{ONE_LINE_RULE}, and not blank",
    TEXT_PATTERN: FREE_TEXT_RULE,
    NON_BLANK_TEXT_PATTERN: (
        "must not be blank, nor contain control characters other than line breaks and tabs"
    ),
}


def _choices(expected: str) -> str:
    return expected.replace("'", "")


# pydantic's error types said to a person: what is wrong and how to put it right. The field is
# named by the caller (beside the form field, or first in the API message).
_IN_WORDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": lambda ctx: "This is required.",
    "string_too_short": lambda ctx: (
        "This cannot be empty."
        if ctx.get("min_length") == 1
        else f"Use at least {ctx.get('min_length')} characters."
    ),
    "string_too_long": lambda ctx: f"Use at most {ctx.get('max_length')} characters.",
    "too_short": lambda ctx: f"Give at least {ctx.get('min_length')}.",
    "too_long": lambda ctx: f"Give at most {ctx.get('max_length')}.",
    "greater_than_equal": lambda ctx: f"Use a number of at least {ctx.get('ge')}.",
    "greater_than": lambda ctx: f"Use a number above {ctx.get('gt')}.",
    "less_than_equal": lambda ctx: f"Use a number no larger than {ctx.get('le')}.",
    "less_than": lambda ctx: f"Use a number below {ctx.get('lt')}.",
    "int_parsing": lambda ctx: "Enter a whole number, such as 12.",
    "int_type": lambda ctx: "Enter a whole number, such as 12.",
    "int_from_float": lambda ctx: "Enter a whole number, such as 12.",
    "float_parsing": lambda ctx: "Enter a number, such as 41.88.",
    "bool_parsing": lambda ctx: "Use true or false.",
    "string_type": lambda ctx: "Enter text here.",
    "enum": lambda ctx: f"Choose one of: {_choices(str(ctx.get('expected', '')))}.",
    "literal_error": lambda ctx: f"Choose one of: {_choices(str(ctx.get('expected', '')))}.",
    "timezone_aware": lambda ctx: (
        "Give the time with its offset from UTC, such as 2026-12-08T18:00:00-06:00 or ...Z."
    ),
    "datetime_parsing": lambda ctx: "Enter a date and time such as 2026-12-08T18:00:00-06:00.",
    "datetime_type": lambda ctx: "Enter a date and time such as 2026-12-08T18:00:00-06:00.",
    "datetime_from_date_parsing": lambda ctx: (
        "Enter a date and time such as 2026-12-08T18:00:00-06:00."
    ),
    "date_parsing": lambda ctx: "Enter a date such as 2026-12-08.",
    "date_from_datetime_parsing": lambda ctx: "Enter a date such as 2026-12-08.",
    "url_parsing": lambda ctx: "Enter a web address starting with https://.",
    "url_scheme": lambda ctx: "Enter a web address starting with https:// (or http://).",
    "extra_forbidden": lambda ctx: "This field is not known here; leave it out.",
    "json_invalid": lambda ctx: "The body is not valid JSON.",
    "model_attributes_type": lambda ctx: "This must be an object with named fields.",
    "dict_type": lambda ctx: "This must be an object with named fields.",
    "list_type": lambda ctx: "This must be a list.",
    "uuid_parsing": lambda ctx: "This is not a valid id.",
}


def problem_in_words(error: Mapping[str, Any]) -> str:
    """A validation error's message in plain words: what is wrong and how to put it right.

    The text types' patterns are said in words (a person, or a peer's developer, reads "must
    be one line without control characters", not a regular expression of code point ranges);
    pydantic's generic messages ("Input should be ...", "Value error, ...") are replaced by
    sentences that say what to enter."""
    kind = error.get("type")
    ctx = error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern")
        if pattern in _TEXT_RULES:
            return _TEXT_RULES[pattern]
    if kind in _IN_WORDS:
        return _IN_WORDS[kind](ctx)
    message = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if message.startswith("value is not a valid email address: "):
        reason = message.removeprefix("value is not a valid email address: ")
        return f"Enter an email address such as name@example.org ({reason.rstrip('.')})."
    return message


MAX_WIRE_INTEGER = 2**31 - 1
"""The largest integer on the wire, 2147483647: a signed 32-bit integer. RFC 8785 signs any
integer up to 2^53 exactly, but SQL ``INTEGER`` columns (PostgreSQL's are 32-bit) and many
languages' default integers stop here; a billion edits or places is still far off."""

Version = Annotated[int, Field(ge=1, le=MAX_WIRE_INTEGER)]
"""An object's version: bumped by its origin on every change, 1 to 2^31 - 1."""

Count = Annotated[int, Field(ge=0, le=MAX_WIRE_INTEGER)]
"""A number of people, places or answers: 0 to 2^31 - 1."""

Precinct = Annotated[Line, Field(min_length=1, max_length=20)]
"""A precinct, as the node that names it writes it (for example ``33-012``)."""

FIRST_YEAR, LAST_YEAR = 1900, 2999
"""The years a timestamp or a date on the wire may be in (the patterns below say the same)."""

TIMESTAMP_PATTERN = (
    r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)


def _timestamp(value: Any) -> Any:
    """Check a wire timestamp's form and read it; a ``datetime`` given in Python is checked."""
    if isinstance(value, str):
        if not _TIMESTAMP.fullmatch(value):
            raise ValueError(
                "a timestamp is RFC 3339 with a T and an offset, in the years 1900 to 2999, "
                "for example 2027-04-01T18:00:00-05:00"
            )
        return datetime.fromisoformat(value)  # read here: strict mode takes only a datetime
    if isinstance(value, datetime) and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError("a timestamp is in the years 1900 to 2999")
    return value


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_timestamp),
    Field(json_schema_extra={"pattern": TIMESTAMP_PATTERN}),
]
"""A moment: RFC 3339 with ``T`` and an offset (``Z`` or ``-05:00``), at most microseconds.

The years are bounded (1900 to 2999) so that no offset can push a value out of what any
implementation's date type holds; the pattern says so to validators that ignore ``format``."""

DATE_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"

CalendarDate = Annotated[
    date,
    Field(
        ge=date(FIRST_YEAR, 1, 1),
        le=date(LAST_YEAR, 12, 31),
        json_schema_extra={
            "pattern": r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
        },
    ),
]
"""A calendar day, ``YYYY-MM-DD``, in the years 1900 to 2999."""

Ward = Annotated[int, Field(ge=1, le=50)]
"""A Chicago ward number, 1 to 50."""


def _no_repeats(wards: list[int]) -> list[int]:
    if len(set(wards)) != len(wards):
        raise ValueError("each ward is listed once")
    return wards


Wards = Annotated[
    list[Ward],
    Field(max_length=50, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_no_repeats),
]
"""Chicago wards, each listed once."""


class Coordinates(WireModel):
    """A point on the map, WGS 84."""

    latitude: float = Field(ge=-90, le=90)
    """Degrees north, -90 to 90."""
    longitude: float = Field(ge=-180, le=180)
    """Degrees east, -180 to 180."""


class Location(WireModel):
    """Where something happens, in OSDI / Mobilize field names."""

    venue: Line | None = Field(default=None, max_length=200)
    """The place's name, for example "Hairpin Arts Center"."""
    address_lines: list[Annotated[Line, Field(max_length=200)]] = Field(
        default_factory=list, max_length=5
    )
    """Street address lines, in order."""
    locality: Line | None = Field(default=None, max_length=100)
    """City, for example "Chicago"."""
    region: Line | None = Field(default=None, max_length=100)
    """State or province, for example "IL"."""
    postal_code: Line | None = Field(default=None, max_length=20)
    """ZIP code."""
    location: Coordinates | None = None
    """The point on the map, when known."""
