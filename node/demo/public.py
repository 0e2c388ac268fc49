"""The public face: each group's about text, 33WF's invited volunteers, and the endorsement
every group shows on its home once it is ratified.

Runs after the endorsement flow. Invitations go out by email; the demo sets no SMTP server, so
they land in each node's mail folder, where the admin reads them on the Mail page.
"""

from __future__ import annotations

import asyncio
from typing import Any

from node.demo.coalition import COALITION, IPOS, WARD33, Organization
from node.demo.endorsement import CANDIDATE, ENDORSEMENTS
from node.demo.story import Story

PROFILE = "/api/v1/profile"
INVITATIONS = "/api/v1/invitations"
VOLUNTEERS = ("maria.volunteer", "dev.volunteer")


def about(org: Organization) -> str:
    wards = ", ".join(str(ward) for ward in org.wards)
    where = f"in ward {wards}" if len(org.wards) == 1 else f"across wards {wards}" if wards else (
        "across the city"
    )  # fmt: skip
    return (
        f"{org.name} is a volunteer-run group of neighbours organizing {where}.\n\n"
        "We knock doors, run candidate forums and show up for our neighbours' fights. "
        "Come to any public event below: no sign-up needed, and there is a place for you."
    )


async def _profile(story: Story, org: Organization) -> bool:
    """The group's about text and contact address; False if an earlier run set them."""
    admin = story.admins[org]
    current = await admin.get(PROFILE)
    if current.get("about"):
        return False
    body = {"about": about(org), "contact_email": f"hello@{org.slug}.example"}
    await admin.call("PUT", PROFILE, json=body)
    return True


async def _invitations(story: Story) -> int:
    """33WF invites two volunteers (members) who have neither an account nor an invitation."""
    admin = story.admins[WARD33]
    waiting = {item["email"] for item in await admin.get(INVITATIONS)}
    users = {item["email"] for item in await admin.get("/api/v1/users")}
    invited = 0
    for name in VOLUNTEERS:
        email = f"{name}@{WARD33.slug}.example"
        if email in waiting or email in users:
            continue
        await admin.post(INVITATIONS, {"email": email, "role": "member"}, expect=201)
        invited += 1
    return invited


async def _show_endorsement(story: Story, org: Organization) -> bool:
    """``org`` shows the ratified mayoral endorsement on its home; False if it already did."""
    admin = story.admins[org]
    listed = await admin.get(ENDORSEMENTS)
    found: list[dict[str, Any]] = [
        item for item in listed["items"]
        if (item["candidate"] or {}).get("name") == CANDIDATE and item["status"] == "ratified"
    ]  # fmt: skip
    if not found or found[0].get("is_public"):
        return False
    await admin.call("PUT", f"{ENDORSEMENTS}/{found[0]['id']}/public", json={"is_public": True})
    return True


async def flow(story: Story) -> str:
    profiles = await asyncio.gather(*(_profile(story, org) for org in COALITION))
    invited = await _invitations(story)
    shown = await asyncio.gather(*(_show_endorsement(story, org) for org in IPOS))
    showing = 0
    for org in IPOS:
        listed = await story.admins[org].get(ENDORSEMENTS)
        showing += any(item.get("is_public") for item in listed["items"])
    if showing != len(IPOS):
        raise ValueError(f"{showing} of {len(IPOS)} groups show the endorsement publicly")
    folder = story.nodes[WARD33].data_dir / "mail"

    async def mail_written() -> int:
        return len(list(folder.glob("*.eml"))) if folder.exists() else 0

    letters = await story.wait(
        mail_written,
        lambda count: count >= len(VOLUNTEERS),
        "33WF's invitations in its mail folder",
    )
    return (
        f"{len(COALITION)} public homes with an about text ({sum(profiles)} written now); "
        f"the endorsement shown on {showing}/{len(IPOS)} ({sum(shown)} now); "
        f"{invited} volunteers invited by 33WF now; {letters} letters in its mail folder"
    )
