"""A few neighbours RSVP to 33WF's public events through the public RSVP form, without an
account, as they would from a shared link: the attendees page then has people to check in,
and the mail folder (``/mail``) their confirmation emails with the .ics attached."""

from __future__ import annotations

from typing import Any

import httpx

from node.demo.api import NotConverged
from node.demo.coalition import WARD33
from node.demo.story import Story

NEIGHBOURS = (
    ("Rosa Delgado", "rosa.delgado@example.org", "773-555-0141", True),
    ("Tomasz Nowak", "tomasz.nowak@example.org", "", False),
    ("Aisha Bello", "aisha.bello@example.org", "773-555-0177", False),
)


async def rsvp_to(story: Story, events: list[dict[str, Any]]) -> int:
    """Each neighbour RSVPs to each public event of 33WF in ``events``; an RSVP again with the
    same email updates hers, so a second run adds nobody. Returns how many RSVPs were sent."""
    # Its one-off public events: the weekly series' six would make 18 RSVPs from one address,
    # past the form's limit per address (ten at once), as it should be for a script.
    public = [e for e in events if e["visibility"] == "public" and e["origin"] == story.url(WARD33)
              and e.get("series_id") is None]  # fmt: skip
    sent = 0
    async with httpx.AsyncClient(base_url=story.url(WARD33), timeout=15) as browser:
        for event in public:
            for name, email, phone, texts in NEIGHBOURS:
                form = {"name": name, "email": email, "phone": phone}
                if texts:
                    form["texts_ok"] = "true"
                answer = await browser.post(f"/events/{event['id']}/rsvp", data=form)
                if answer.status_code != 303:
                    raise NotConverged(f"an RSVP to {event['title']} got {answer.status_code}")
                sent += 1
    return sent
