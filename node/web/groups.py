"""What the endorsement, canvass and forum pages share: group names and times in Chicago.

Shared objects name groups by node id (a URL); a page shows the name the group published
instead, as this node knows it from its peer table, and says "us" plainly for itself.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from federation.models import AllianceState, Peer
from federation.peers import list_peers
from node import formatting
from node.config import Settings

CHICAGO = ZoneInfo("America/Chicago")


async def group_names(session: AsyncSession, *, settings: Settings) -> dict[str, str]:
    """Node id -> the group's name, for every peer this node knows and for itself."""
    names = {peer.node_id: peer.name for peer in await list_peers(session)}
    names[settings.public_url] = settings.name
    return names


async def active_allies(session: AsyncSession, *, scope: str) -> list[Peer]:
    """Allies with an active alliance covering ``scope``: who can be asked to take part."""
    return [
        peer
        for peer in await list_peers(session)
        if peer.state is AllianceState.active and scope in peer.scopes
    ]


def when(moment: datetime | None, *, time: bool = True, zone: formatting.Zone = None) -> str:
    """A time in the words of every page (:mod:`node.formatting`): ``Sat, Dec 5, 10:00 am
    CST``, or its day alone; in ``zone`` (Chicago when none is given)."""
    if moment is None:
        return ""
    return formatting.moment(moment, zone) if time else formatting.day(moment, zone)


def span(start: datetime, end: datetime, *, zone: formatting.Zone = None) -> str:
    """``Sat, Dec 5, 10:00 am-1:00 pm CST`` (:func:`node.formatting.when`), in ``zone``."""
    return formatting.when(start, end, zone)


def parse_local(value: str) -> datetime | None:
    """A ``datetime-local`` form value, read as Chicago time; ``None`` if empty or malformed."""
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=CHICAGO) if value else None
    except ValueError:
        return None


def split_list(value: str) -> list[str]:
    """A comma-separated form field as a list, blanks dropped."""
    return [item.strip() for item in value.split(",") if item.strip()]


def local_input(moment: datetime | None) -> str:
    """A time as a ``datetime-local`` input's value, in Chicago time."""
    return moment.astimezone(CHICAGO).strftime("%Y-%m-%dT%H:%M") if moment else ""
