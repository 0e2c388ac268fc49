"""A real SMTP server on loopback (aiosmtpd), for tests that send email.

``smtp_server()`` yields a :class:`Mailbox`: its ``messages`` are the parsed messages the
server accepted, each stored before the server answers 250 (so there once a send returned).
Point nodes at it with :meth:`Mailbox.settings`. Addresses in ``refuse`` are answered at RCPT
with a permanent 550, as a real server answers for a mailbox that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.ports import free_port


@dataclass
class Mailbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    def settings(self) -> dict[str, Any]:
        """Node settings that send through this server (plain SMTP: it is loopback)."""
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_security": "none"}

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.mailbox.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        parsed: EmailMessage = message_from_bytes(data, policy=policy.default)  # type: ignore[assignment]
        self.mailbox.messages.append(parsed)
        return "250 Message accepted"


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 until the block ends."""
    mailbox = Mailbox(port=port or free_port())
    controller = Controller(_Handler(mailbox), hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
