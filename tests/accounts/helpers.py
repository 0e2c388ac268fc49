"""Helpers for account tests: links out of the mail queue, and what the tables hold."""

from __future__ import annotations

import re
from email import message_from_string, policy
from email.message import EmailMessage

from sqlmodel import col, select

from node.accounts.models import Invitation, PasswordReset
from node.mail.models import MailMessage
from tests.nodes import TestNode

INVITATION_LINK = re.compile(r"https?://\S+/invitations/(ipoinv_[A-Za-z0-9_-]+)")
RESET_LINK = re.compile(r"https?://\S+/password/reset/(iporeset_[A-Za-z0-9_-]+)")


def token_in(text: str, pattern: re.Pattern[str]) -> str:
    """The token of the first link of ``pattern`` in ``text``."""
    match = pattern.search(text)
    assert match, text
    return match[1]


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    text: str = part.get_content()
    return text


async def queued(node: TestNode, *, kind: str | None = None) -> list[tuple[str, str]]:
    """(recipient, text) of every message in the node's mail queue, oldest first."""
    async with node.session() as session:
        query = select(MailMessage).order_by(col(MailMessage.id))
        if kind is not None:
            query = query.where(col(MailMessage.kind) == kind)
        rows = (await session.execute(query)).scalars().all()
    messages = []
    for row in rows:
        assert row.raw is not None
        parsed: EmailMessage = message_from_string(row.raw, policy=policy.default)  # type: ignore[assignment]
        messages.append((row.to_address, body_of(parsed)))
    return messages


async def link_mailed_to(node: TestNode, address: str, pattern: re.Pattern[str]) -> str:
    """The token in the last message queued to ``address`` that holds a link of ``pattern``."""
    found = [
        match[1]
        for to, text in await queued(node)
        if to == address and (match := pattern.search(text))
    ]
    assert found, f"no such link was mailed to {address}"
    return found[-1]


async def invitation_rows(node: TestNode) -> list[Invitation]:
    async with node.session() as session:
        return list((await session.execute(select(Invitation))).scalars())


async def reset_rows(node: TestNode) -> list[PasswordReset]:
    async with node.session() as session:
        return list((await session.execute(select(PasswordReset))).scalars())
