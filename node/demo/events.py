"""A few events per node, some public and some for the coalition, and their replicas.

Every group posts its own events on its own node; allies sharing ``events`` receive a
replica of each public or coalition event. 33WF's Saturday doors also repeat: a weekly
series, whose occurrences allies receive as events. The flow checks each ally holds every one.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from federation.storage import utcnow
from node.demo.coalition import (
    COALITION,
    NWSIDE,
    UNION,
    WARD30,
    WARD33,
    WARD35,
    WARD39,
    Organization,
    alliances,
)
from node.demo.rsvps import rsvp_to
from node.demo.story import Story

EVENTS = "/api/v1/events"

# (title, type, visibility, days ahead, local start hour, hours long, venue)
SAMPLES: dict[Organization, list[tuple[str, str, str, int, int, int, str]]] = {
    WARD33: [
        ("Saturday canvass: Albany Park", "CANVASS", "public", 7, 10, 3, "33WF office"),
        ("General membership meeting", "MEETING", "coalition", 10, 18, 2, "Ward office"),
        ("Strike support picket", "STRIKE_SUPPORT", "public", 3, 7, 3, "Swedish Hospital"),
    ],
    WARD30: [
        ("Know your rights clinic", "TRAINING", "public", 5, 11, 2, "Kosciuszko Park"),
        ("Steering committee", "MEETING", "coalition", 8, 19, 2, "Ward office"),
    ],
    WARD35: [
        ("Participatory budgeting vote drive", "PETITION_DRIVE", "public", 6, 12, 4, "Logan Sq"),
        ("Tenant union mixer", "SOCIAL", "coalition", 12, 18, 3, "Avondale Bowl"),
    ],
    WARD39: [
        ("Ward night at the library", "MEETING", "public", 9, 18, 2, "North Park Library"),
        ("Phone bank for the referendum", "PHONE_BANK", "coalition", 4, 18, 2, "Online"),
    ],
    NWSIDE: [
        ("Northwest side coalition assembly", "MEETING", "coalition", 14, 13, 3, "Hairpin Arts"),
        ("Rally for green social housing", "RALLY", "public", 11, 12, 2, "Logan Square"),
    ],
    UNION: [
        ("Contract campaign rally", "RALLY", "public", 13, 12, 2, "Union Park"),
        ("Member-organizer training", "TRAINING", "coalition", 15, 10, 4, "Union hall"),
    ],
}


# 33WF's repeating event: a weekly series, made once (POST /api/v1/events/series).
WEEKLY = ("Weekly doors: Irving Park", "CANVASS", "public", 2, 10, 3, "33WF office")
WEEKLY_TIMES = 6


def _at(days: int, hour: int) -> datetime:
    # Chicago is UTC-6 in winter and UTC-5 in summer; these are sample times, an hour off is fine.
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(days=days, hours=hour + 6)


def event_body(org: Organization, sample: tuple[str, str, str, int, int, int, str]) -> Any:
    title, kind, visibility, days, hour, hours, venue = sample
    start = _at(days, hour)
    return {
        "title": title,
        "description": f"{org.name}: {title.lower()}. Everyone welcome.",
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(hours=hours)).isoformat(),
        "event_type": kind,
        "visibility": visibility,
        "wards": list(org.wards),
        "location": {"venue": venue, "locality": "Chicago", "region": "IL"},
    }


async def held(story: Story, org: Organization) -> list[dict[str, Any]]:
    """Every event ``org``'s admin sees (its own and replicas), following ``next``."""
    items: list[dict[str, Any]] = []
    page = await story.admins[org].get(EVENTS, limit=100)
    while True:
        items.extend(page["items"])
        if page["next"] is None:
            return items
        page = await story.admins[org].call("GET", page["next"])


async def _holds(story: Story, receiver: Organization, ids: set[str], sender: Organization) -> None:
    await story.wait(
        lambda: held(story, receiver),
        lambda items: ids <= {e["object_id"] for e in items},
        f"{receiver.short} to hold every event of {sender.short}",
    )


async def _weekly(story: Story, holding: list[dict[str, Any]]) -> tuple[set[str], int]:
    """The weekly series' occurrences (made now if an earlier run did not), and how many
    were made now."""
    made = {e["object_id"] for e in holding
            if e["origin"] == story.url(WARD33) and e["title"] == WEEKLY[0]}  # fmt: skip
    if made:
        return made, 0
    body = {**event_body(WARD33, WEEKLY), "repeat": "weekly", "count": WEEKLY_TIMES}
    series = await story.admins[WARD33].post(f"{EVENTS}/series", body, expect=201)
    return {e["object_id"] for e in series["events"]}, len(series["events"])


async def flow(story: Story) -> str:
    created = 0
    own: dict[Organization, set[str]] = {}
    for org in COALITION:
        holding = await held(story, org)
        mine = {e["title"]: e["object_id"] for e in holding
                if e["origin"] == story.url(org)}  # fmt: skip
        for sample in SAMPLES[org]:
            if sample[0] not in mine:
                made = await story.admins[org].post(EVENTS, event_body(org, sample), expect=201)
                mine[made["title"]] = made["object_id"]
                created += 1
        own[org] = {mine[sample[0]] for sample in SAMPLES[org]}
        if org is WARD33:
            weekly, made_now = await _weekly(story, holding)
            own[org] |= weekly
            created += made_now
    pairs = [(a.offering, a.accepting) for a in alliances()]
    pairs += [(receiver, sender) for sender, receiver in pairs]
    await asyncio.gather(*(_holds(story, to, own[sender], sender) for sender, to in pairs))
    replicas = sum(len(own[sender]) for sender, _ in pairs)
    total = sum(len(ids) for ids in own.values())
    public = sum(1 for samples in SAMPLES.values() for s in samples if s[2] == "public")
    public += WEEKLY_TIMES
    how = f"{created} posted now" if created else "all from an earlier run"
    rsvps = await rsvp_to(story, await held(story, WARD33))
    return (
        f"{total} events ({public} public, {total - public} coalition; {how}), "
        f"{WEEKLY_TIMES} of them one weekly series; "
        f"{replicas} replicas held by allies, every ally holds every event; "
        f"{rsvps} RSVPs from neighbours to {WARD33.short}'s public events"
    )
