"""The cross-ward canvass call: 33WF asks for doors, allies relay, neighbours sign up at home.

33WF's organizer posts a call with two weekend shifts; each ally's organizer relays it to its
members; two members of United Neighbors of the 35th Ward and one of 39th Ward Neighbors
United sign up on their own nodes, which send only a handle (and, for the one who ticked
it, her first name and contact) to 33WF. 33WF's shift fills, every node holding the call
shows the same counts, and each volunteer's own node tells her she has a place.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from federation.storage import utcnow
from node.demo.api import Api, NotConverged, load_tokens, new_token, save_token
from node.demo.coalition import COALITION, WARD33, WARD35, WARD39, Organization
from node.demo.story import Story

CALLS = "/api/v1/canvass-calls"
SIGNUPS = "/api/v1/canvass-signups"
TITLE = "Weekend doors for the Bring Chicago Home referendum"


@dataclass(frozen=True)
class Volunteer:
    org: Organization
    given_name: str
    family_name: str
    phone: str
    shares_contact: bool

    @property
    def email(self) -> str:
        return f"{self.given_name.lower()}@{self.org.slug}.example"


VOLUNTEERS = (
    Volunteer(WARD35, "Maria", "Reyes", "773-555-0135", shares_contact=True),
    Volunteer(WARD35, "Tomasz", "Nowak", "773-555-0136", shares_contact=False),
    Volunteer(WARD39, "Aisha", "Khan", "773-555-0139", shares_contact=False),
)


def call_body() -> dict[str, Any]:
    # The first Saturday at least two days away, 10 am in Chicago (16:00 UTC in winter)
    today = utcnow().replace(hour=16, minute=0, second=0, microsecond=0)
    saturday = today + timedelta(days=2 + (5 - (today.weekday() + 2)) % 7)
    shifts = [(saturday, 8), (saturday + timedelta(days=1), 6)]
    return {
        "title": TITLE,
        "campaign": {"kind": "referendum", "name": "Bring Chicago Home"},
        "wards": [33],
        "turf_description": "Precincts 4 to 9, Albany Park west of Kedzie",
        "staging_location": {
            "venue": "33WF office",
            "address_lines": ["3500 W Lawrence Ave"],
            "locality": "Chicago",
            "region": "IL",
        },
        "shifts": [
            {
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(hours=3)).isoformat(),
                "capacity": capacity,
            }
            for start, capacity in shifts
        ],
        "languages_needed": ["Spanish", "Korean"],
        "materials": "Clipboards, lit and water at the office",
        "contact": {"name": "Field desk", "phone": "773-555-0100"},
        "waitlist_limit": 2,
        # Five allies share canvass calls: a fair share of 8 places would be 1 each (8 // 6),
        # and two neighbours of the 35th sign up, so 33WF lets each ally fill 2.
        "ally_share": 2,
    }


async def held(story: Story, org: Organization, object_id: str) -> dict[str, Any] | None:
    found = [c for c in await story.admins[org].get(CALLS) if c["object_id"] == object_id]
    return found[0] if found else None


async def _call(story: Story) -> tuple[dict[str, Any], bool]:
    mine = [c for c in await story.admins[WARD33].get(CALLS)
            if c["is_local"] and c["title"] == TITLE]  # fmt: skip
    if mine:
        return mine[0], False
    return await story.admins[WARD33].post(CALLS, call_body(), expect=201), True


async def _relay(story: Story, org: Organization, object_id: str) -> None:
    local = await story.wait(
        lambda: held(story, org, object_id),
        lambda call: call is not None,
        f"{org.short} to receive 33WF's canvass call",
    )
    if not local["relayed"]:
        await story.admins[org].post(f"{CALLS}/{local['id']}/relay")


async def _account(story: Story, volunteer: Volunteer) -> Api:
    """The volunteer's login on her own node (made by its admin the first time), as a token."""
    node, admin = story.nodes[volunteer.org], story.admins[volunteer.org]
    token = load_tokens(node.data_dir).get(volunteer.email)
    if token is None:
        password = secrets.token_urlsafe(15)
        users = {u["email"]: u for u in await admin.get("/api/v1/users")}
        if volunteer.email in users:  # an earlier run stopped before keeping her token
            user_id = users[volunteer.email]["id"]
            await admin.call("PATCH", f"/api/v1/users/{user_id}", json={"password": password})
        else:
            await admin.post("/api/v1/users", {"email": volunteer.email, "role": "member",
                             "password": password, "display_name": volunteer.given_name},
                             expect=201)  # fmt: skip
            await admin.post("/api/v1/members", {
                "given_name": volunteer.given_name, "family_name": volunteer.family_name,
                "email": volunteer.email, "phone": volunteer.phone, "postal_code": "60625",
                "ward": volunteer.org.wards[0],
                "share_contact_with_hosts": volunteer.shares_contact,
            }, expect=201)  # fmt: skip
        token = await new_token(node.url, email=volunteer.email, password=password, label="demo")
        save_token(node.data_dir, email=volunteer.email, token=token)
    return Api(node.url, token)


async def _sign_up(story: Story, volunteer: Volunteer, object_id: str) -> bool:
    """She finds the relayed call on her own node and signs up for Saturday (unless she did)."""
    api = await _account(story, volunteer)
    try:
        if any(s["call_object_id"] == object_id for s in await api.get(SIGNUPS)):
            return False
        [local] = [c for c in await api.get(CALLS) if c["object_id"] == object_id]
        share = volunteer.shares_contact
        await api.post(
            f"{CALLS}/{local['id']}/shifts/{local['shifts'][0]['id']}/signups",
            {"share_first_name": share, "share_contact": share},
            expect=201,
        )
        return True
    finally:
        await api.aclose()


async def _told_committed(story: Story, volunteer: Volunteer, object_id: str) -> None:
    api = await _account(story, volunteer)
    try:
        await story.wait(
            lambda: api.get(SIGNUPS),
            lambda rows: (
                [r["state"] for r in rows if r["call_object_id"] == object_id] == ["committed"]
            ),
            f"{volunteer.given_name}'s own node to tell her she has a place",
        )
    finally:
        await api.aclose()


def _counts(call: dict[str, Any] | None) -> list[tuple[int, int, int]] | None:
    if call is None:
        return None
    return [(s["committed"], s["waitlisted"], s["remaining"]) for s in call["shifts"]]


async def flow(story: Story) -> str:
    call, posted = await _call(story)
    object_id = call["object_id"]
    allies = [org for org in COALITION if org is not WARD33]
    for org in allies:
        await _relay(story, org, object_id)
    signed = [await _sign_up(story, volunteer, object_id) for volunteer in VOLUNTEERS]
    for volunteer in VOLUNTEERS:
        await _told_committed(story, volunteer, object_id)
    homes = {story.url(v.org) for v in VOLUNTEERS}
    roster_path = f"{CALLS}/{call['id']}/shifts/{call['shifts'][0]['id']}/commitments"
    roster = await story.wait(
        lambda: story.admins[WARD33].get(roster_path),
        lambda rows: (
            sum(r["home_node"] in homes and r["state"] == "committed" for r in rows)
            >= len(VOLUNTEERS)
        ),
        "33WF's roster to hold the three sign-ups from the 35th and 39th wards",
    )
    named = sorted(r["given_name"] for r in roster if r["home_node"] in homes and r["given_name"])
    if named != ["Maria"]:
        raise NotConverged(f"33WF's roster names {named}, only Maria agreed to share hers")
    counts = _counts(await held(story, WARD33, object_id))
    if counts is None:
        raise NotConverged("33WF no longer lists its own canvass call")
    await asyncio.gather(*(
        story.wait(partial(held, story, org, object_id), lambda seen: _counts(seen) == counts,
                   f"{org.short} to show 33WF's shift counts {counts}")
        for org in allies
    ))  # fmt: skip
    committed, _, remaining = counts[0]
    how = "posted now" if posted else f"{sum(signed)} sign-ups now" if any(signed) else "reused"
    return (
        f"{len(allies)} allies relayed the call; {len(VOLUNTEERS)} sign-ups from UN35/39th NU "
        f"reached 33WF (Saturday shift {committed} committed, {remaining} open, the same on all "
        f"{len(COALITION)} nodes); only the one who consented is named ({how})"
    )
