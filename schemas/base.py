"""What every wire model shares: strictness at the boundary, URL and place types.

Every model that crosses between nodes derives from :class:`WireModel`. Unknown fields are
rejected, never silently kept, so a peer learns at once that it speaks another version of the
protocol; models are immutable once parsed. Timestamps are RFC 3339 with an offset
(``AwareDatetime``): a naive time would silently shift by a server's local offset.

Identifiers are absolute ``http(s)`` URLs written as plain strings (no normalisation on the
way in, so an id compares equal only to itself). Which node an id belongs to is decided by
:func:`schemas.origin.same_origin`, never by string prefixes.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from schemas.origin import origin_of

MAX_URL_LENGTH = 2048

# The JSON Schema patterns carry the shape other implementations must check; the Python
# validators below add what a pattern cannot say (a valid host, an in-range port).
_HTTP_URL_PATTERN = r"^https?://[^\s/?#@\\]+(/[^\s?#\\]*)?(\?[^\s#\\]*)?$"
_NODE_ID_PATTERN = r"^https?://[^\s/?#@\\]+(/[^\s?#\\]*)?$"


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
    if urlsplit(value).query:
        raise ValueError("a node id is a base URL and carries no query")
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
"""A node's id: its base URL, for example ``https://33wf.example``. No query, no fragment."""

Ward = Annotated[int, Field(ge=1, le=50)]
"""A Chicago ward number, 1 to 50."""


class Coordinates(WireModel):
    """A point on the map, WGS 84."""

    latitude: float = Field(ge=-90, le=90)
    """Degrees north, -90 to 90."""
    longitude: float = Field(ge=-180, le=180)
    """Degrees east, -180 to 180."""


class Location(WireModel):
    """Where something happens, in OSDI / Mobilize field names."""

    venue: str | None = Field(default=None, max_length=200)
    """The place's name, for example "Hairpin Arts Center"."""
    address_lines: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=5
    )
    """Street address lines, in order."""
    locality: str | None = Field(default=None, max_length=100)
    """City, for example "Chicago"."""
    region: str | None = Field(default=None, max_length=100)
    """State or province, for example "IL"."""
    postal_code: str | None = Field(default=None, max_length=20)
    """ZIP code."""
    location: Coordinates | None = None
    """The point on the map, when known."""
