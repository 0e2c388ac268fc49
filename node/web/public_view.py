"""What the public pages share: times in an event's own zone, places with a map link, and the
Open Graph / Twitter card tags that make a shared link preview well.

Times are said as on every page (:mod:`node.formatting`: "Thu, Jan 31, 2030, 6:00-8:00 pm
CST", in the event's own zone), and a place is its venue and address with a link to
OpenStreetMap (a link: the page embeds no map and loads nothing from another site).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

OSM = "https://www.openstreetmap.org"
DESCRIPTION_MAX = 200


@dataclass(frozen=True)
class Place:
    """Where, in words, and a link to it on OpenStreetMap (none when nothing is known)."""

    words: str
    map_url: str | None


def place_of(location: Mapping[str, Any] | None) -> Place:
    """A stored location (OSDI shape) as a neighbour reads it."""
    location = location or {}
    parts = [
        str(part)
        for part in (
            location.get("venue"),
            *(location.get("address_lines") or []),
            location.get("locality"),
            location.get("region"),
            location.get("postal_code"),
        )
        if part
    ]
    if not parts:
        return Place("To be announced", None)
    point = location.get("location") or {}
    latitude, longitude = point.get("latitude"), point.get("longitude")
    if isinstance(latitude, int | float) and isinstance(longitude, int | float):
        query = urlencode({"mlat": latitude, "mlon": longitude})
        url = f"{OSM}/?{query}#map=17/{latitude}/{longitude}"
    else:
        # The venue's name alone rarely finds it: search by the address when there is one.
        address = parts[1:] if location.get("venue") and len(parts) > 1 else parts
        url = f"{OSM}/search?{urlencode({'query': ', '.join(address)})}"
    return Place(", ".join(parts), url)


def summary(text: str, *, limit: int = DESCRIPTION_MAX) -> str:
    """The first paragraph of ``text`` on one line, cut at a word near ``limit``."""
    first = " ".join(text.strip().split("\n\n")[0].split())
    if len(first) <= limit:
        return first
    return first[: limit - 1].rsplit(" ", 1)[0] + "…"


@dataclass(frozen=True)
class ShareCard:
    """Open Graph and Twitter card tags of a page (``_public.html`` renders them)."""

    title: str
    description: str
    url: str
    site_name: str
    type: str = "website"


def webcal(url: str) -> str:
    """A feed's address for calendar apps: ``webcal://`` opens a subscription, not a download."""
    parts = urlsplit(url)
    return parts._replace(scheme="webcal").geturl()
