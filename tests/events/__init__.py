"""Tests of the events domain, and the small helpers they share.

Events are made through the API, as an organizer would, except where a test needs a row the API
cannot make (an ally's replica), which it inserts through a session.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from node.events.models import Event

EVENTS = "/api/v1/events"


def soon(days: float = 7, hours: float = 0) -> datetime:
    """A whole hour in the future (UTC), so times compare exactly after a round trip."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return base + timedelta(days=days, hours=hours)


def event_body(**overrides: Any) -> dict[str, Any]:
    start = overrides.pop("start", soon())
    body: dict[str, Any] = {
        "title": "Ward 33 general meeting",
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(hours=2)).isoformat(),
        "event_type": "MEETING",
        "visibility": "public",
    }
    body.update(overrides)
    return body


async def create_event(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post(EVENTS, json=event_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def list_all(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, following ``next`` links to the end."""
    items: list[dict[str, Any]] = []
    response = await client.get(EVENTS, params=params)
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        if page["next"] is None:
            return items
        response = await client.get(page["next"])


async def count_event_rows(node: Any) -> int:
    async with node.session() as session:
        result = await session.execute(select(func.count()).select_from(Event))
        return int(result.scalar_one())
