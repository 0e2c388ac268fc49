"""Tests of RSVPs, and the helpers they share: events are made through the API, RSVPs
through the public event page, as a neighbour makes them."""

from __future__ import annotations

import re
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

import httpx
from sqlmodel import select

from node.accounts.models import Role
from node.mail.models import MailMessage
from node.rsvps.models import Rsvp
from tests.events import create_event
from tests.nodes import TestNode

LINK = re.compile(r"https?://[^/\s]+(/rsvp/rsvp_[A-Za-z0-9_\-]+)")


async def public_event(node: TestNode, **overrides: Any) -> dict[str, Any]:
    organizer = await node.as_role(Role.organizer)
    return await create_event(organizer, **overrides)


def neighbour(**overrides: str) -> dict[str, str]:
    form = {"name": "Ana Diaz", "email": "ana@example.org", "phone": "", "website": ""}
    form.update(overrides)
    return form


async def rsvp(client: httpx.AsyncClient, event: dict[str, Any], **form: str) -> httpx.Response:
    return await client.post(f"/events/{event['id']}/rsvp", data=neighbour(**form))


async def mails(node: TestNode, *, kind: str | None = None) -> list[EmailMessage]:
    """Every message the node queued (of ``kind``), parsed, oldest first."""
    async with node.session() as session:
        query = select(MailMessage).order_by(MailMessage.id)  # type: ignore[arg-type]
        rows = (await session.execute(query)).scalars().all()
    parsed = []
    for row in rows:
        if kind is None or row.kind == kind:
            assert row.raw is not None
            message: EmailMessage = message_from_string(row.raw, policy=policy.default)  # type: ignore[assignment]
            parsed.append(message)
    return parsed


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def private_link(message: EmailMessage) -> str:
    [path] = LINK.findall(text_of(message))
    return str(path)


async def rsvps_of(node: TestNode, event: dict[str, Any]) -> list[Rsvp]:
    async with node.session() as session:
        query = select(Rsvp).where(Rsvp.event_id == event["id"]).order_by(Rsvp.id)  # type: ignore[arg-type]
        return list((await session.execute(query)).scalars().all())
