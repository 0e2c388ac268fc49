"""Where a message goes: the node's SMTP server, or the mail folder in its data directory.

A transport either sends (returns what to remember: the folder file's name, or nothing) or
raises :class:`SendFailed`, saying whether trying again later may help.
"""

from __future__ import annotations

import asyncio
import logging
from email import message_from_string
from email.utils import getaddresses
from pathlib import Path
from typing import Protocol

import aiosmtplib

from node.config import Settings
from node.mail.models import MailMessage

log = logging.getLogger(__name__)


class SendFailed(Exception):
    def __init__(self, reason: str, *, final: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.final = final


class MailTransport(Protocol):
    async def send(self, message: MailMessage) -> str | None: ...


class FolderTransport:
    """Writes each message as an ``.eml`` file into ``folder`` (created on first use)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: MailMessage) -> str | None:
        name = f"{message.created_at:%Y%m%dT%H%M%S}-{message.id:06d}.eml"
        await asyncio.to_thread(self._write, name, message.raw or "")
        return name

    def _write(self, name: str, raw: str) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.folder / name).write_text(raw, encoding="utf-8")


class SmtpTransport:
    """Sends through the configured SMTP server, one connection per message (a ward group
    sends a few hundred messages a day, not a campaign's million)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: MailMessage) -> str | None:
        settings = self.settings
        email = message_from_string(message.raw or "")
        [(_, sender)] = getaddresses([settings.mail_sender])
        try:
            await aiosmtplib.send(
                email,
                sender=sender,
                recipients=[message.to_address],
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
                timeout=settings.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise SendFailed("The mail server refused the address.", final=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx: the server will never take it; 4xx: try again later.
            final = 500 <= exc.code < 600
            raise SendFailed(f"The mail server answered {exc.code}.", final=final) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            log.warning("mail to the SMTP server failed: %s: %s", type(exc).__name__, exc)
            raise SendFailed("Could not reach the mail server.", final=False) from exc
        return None


def transport_for(settings: Settings) -> MailTransport:
    if settings.smtp_host:
        return SmtpTransport(settings)
    return FolderTransport(settings.mail_folder)
