"""The joint mayoral endorsement: 33WF proposes it, and all five groups sign, each on its node.

Each signer's admin (33WF's too) reads the exact text through its own node's API and signs the
content version it read, with its own node's key. The endorsement is ratified when all five
have signed; every node that holds it (the five groups) verifies each
signature itself, so "verified" on a node means that node checked it. (An endorsement goes
to its required signers only; the union partner reads ratified ones through a group's
partner API, which is not part of this flow.)
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from functools import partial
from typing import Any

from federation.storage import utcnow
from node.demo.coalition import IPOS, WARD33, Organization
from node.demo.story import Story

ENDORSEMENTS = "/api/v1/endorsements"
CANDIDATE = "Rosa Delgado"
STATEMENT = (
    "The northwest side endorses Rosa Delgado for mayor: a city budget that funds housing, "
    "transit and schools before police overtime, and a mayor who answers to the wards."
)


def next_mayoral_election(today: date) -> date:
    """Chicago elects its mayor in late February every four years (2023, 2027, 2031, ...),
    on the last Tuesday of the month; an endorsement past its election day expires."""
    year = today.year + (3 - today.year % 4) % 4
    while True:
        end_of_february = date(year, 3, 1) - timedelta(days=1)
        election = end_of_february - timedelta(days=(end_of_february.weekday() - 1) % 7)
        if election > today:
            return election
        year += 4


def draft(story: Story) -> dict[str, Any]:
    return {
        "race": {
            "office": "mayor",
            "district": "citywide",
            "election_date": next_mayoral_election(utcnow().date()).isoformat(),
            "election_type": "general",
        },
        "candidate": {"name": CANDIDATE, "campaign_url": "https://delgado.example/"},
        "statement": STATEMENT,
        "tier": "endorse",
        "required_signers": [story.url(org) for org in IPOS],
        "rule": {"kind": "all"},
    }


async def held(story: Story, org: Organization, object_id: str) -> dict[str, Any] | None:
    listed = await story.admins[org].get(ENDORSEMENTS)
    found = [item for item in listed["items"] if item["object_id"] == object_id]
    return found[0] if found else None


async def _proposal(story: Story) -> tuple[dict[str, Any], bool]:
    """33WF's endorsement of the candidate, drafted and opened if no run did it yet."""
    admin = story.admins[WARD33]
    listed = await admin.get(ENDORSEMENTS)
    mine = [
        item
        for item in listed["items"]
        if item["origin"] == story.url(WARD33)
        and (item["candidate"] or {}).get("name") == CANDIDATE
    ]
    if mine:
        found = mine[0]
        if found["status"] == "draft":
            found = await admin.post(f"{ENDORSEMENTS}/{found['id']}/open")
        return found, False
    created = await admin.post(ENDORSEMENTS, draft(story), expect=201)
    return await admin.post(f"{ENDORSEMENTS}/{created['id']}/open"), True


async def _sign(story: Story, signer: Organization, object_id: str) -> bool:
    """The signer's admin reads the text on its own node and signs it; False if signed before.

    33WF signs its own proposal like the others: a required signer is a required signer."""
    seen = await story.wait(
        lambda: held(story, signer, object_id),
        lambda item: item is not None and item["status"] in ("collecting", "ratified"),
        f"{signer.short} to receive 33WF's endorsement",
    )
    mine = [s for s in seen["signatures"] if s["signer"] == story.url(signer)]
    if mine and mine[0]["decision"] == "sign":
        return False
    text = await story.admins[signer].get(f"{ENDORSEMENTS}/{seen['id']}")
    if text["statement"] != STATEMENT or text["origin"] != story.url(WARD33):
        raise ValueError(f"{signer.short} was shown another text: {text['statement']!r}")
    await story.admins[signer].post(
        f"{ENDORSEMENTS}/{seen['id']}/sign", {"content_version": text["content_version"]}
    )
    return True


async def flow(story: Story) -> str:
    proposal, proposed = await _proposal(story)
    object_id = proposal["object_id"]
    signed_now = [await _sign(story, signer, object_id) for signer in IPOS]
    signers = {story.url(org) for org in IPOS}

    def ratified(item: dict[str, Any] | None) -> bool:
        if item is None or item["status"] != "ratified":
            return False
        verified = {s["signer"] for s in item["signatures"]
                    if s["decision"] == "sign" and s["verified"]}  # fmt: skip
        return verified == signers

    await asyncio.gather(*(
        story.wait(partial(held, story, org, object_id), ratified,
                   f"{org.short} to show the endorsement ratified with 5 verified signatures")
        for org in IPOS
    ))  # fmt: skip
    how = (
        "proposed and signed now" if proposed
        else f"{sum(signed_now)} signatures added now" if any(signed_now)
        else "all from an earlier run"
    )  # fmt: skip
    return (
        f"{CANDIDATE} for mayor ratified on {len(IPOS)}/{len(IPOS)} nodes, "
        f"{len(signers)}/{len(signers)} signatures verified on each ({how})"
    )
