"""Queueing a message: what the other domains call, inside their own unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage import utcnow
from node.config import Settings
from node.mail.models import MailMessage


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=PUBLISH"
    data: bytes


def compose(
    settings: Settings,
    *,
    to: str,
    subject: str,
    text: str,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """A plain-text message from this node, with its attachments."""
    message = EmailMessage()
    message["From"] = settings.mail_sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=settings.mail_sender.rpartition("@")[2].rstrip(">"))
    message.set_content(text)
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        subtype, _, params = subtype.partition(";")
        extra = dict(part.strip().split("=", 1) for part in params.split(";") if "=" in part)
        message.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype.strip(),
            filename=attachment.filename,
            params=extra,
        )
    return message


async def queue_mail(
    session: AsyncSession,
    settings: Settings,
    *,
    kind: str,
    to: str,
    subject: str,
    text: str,
    attachments: Sequence[Attachment] = (),
) -> MailMessage:
    """Queue a message; it goes out after the caller's transaction commits (the delivery
    worker is woken by every committed write request)."""
    message = compose(settings, to=to, subject=subject, text=text, attachments=attachments)
    row = MailMessage(kind=kind, to_address=to, subject=subject, raw=message.as_string())
    session.add(row)
    await session.flush()
    return row
