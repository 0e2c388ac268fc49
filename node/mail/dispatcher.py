"""Sending the queue: one round per delivery-worker round (``DeliveryWorker.drains``).

::

    lease up to N due messages (not sent, not given up, not backing off, not leased;
        FOR UPDATE SKIP LOCKED on PostgreSQL: several workers may share the database)
    send each through the transport, oldest first:
      sent                       -> sent_at; through SMTP its text is dropped
      refused for good (5xx)     -> given up, the reason kept for the /mail page
      otherwise (down, 4xx)      -> tried again on federation's backoff schedule
      queued for 7 days unsent   -> given up ("expired")
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from federation.delivery import GIVE_UP_AFTER, LEASE, backoff
from federation.storage import utcnow
from node.mail.models import MailMessage
from node.mail.transports import FolderTransport, MailTransport, SendFailed

log = logging.getLogger(__name__)


@dataclass
class MailDispatcher:
    session_maker: async_sessionmaker[AsyncSession]
    transport: MailTransport
    batch_size: int = 20
    clock: Callable[[], datetime] = utcnow

    async def run_once(self) -> int:
        """Send the due messages; returns how many were tried."""
        ids = await self._claim()
        for message_id in ids:
            await self._send(message_id)
        return len(ids)

    async def _claim(self) -> list[int]:
        now = self.clock()
        async with self.session_maker() as session, session.begin():
            query = (
                select(MailMessage.id)
                .where(col(MailMessage.sent_at).is_(None))
                .where(col(MailMessage.given_up_at).is_(None))
                .where(
                    col(MailMessage.next_attempt_at).is_(None)
                    | (col(MailMessage.next_attempt_at) <= now)
                )
                .where(
                    col(MailMessage.leased_until).is_(None) | (col(MailMessage.leased_until) < now)
                )
                .order_by(col(MailMessage.id))
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            )
            ids = [mid for mid in (await session.execute(query)).scalars() if mid is not None]
            if ids:
                await session.execute(
                    update(MailMessage)
                    .where(col(MailMessage.id).in_(ids))
                    .values(leased_until=now + LEASE)
                )
        return ids

    async def _send(self, message_id: int) -> None:
        async with self.session_maker() as session:
            message = await session.get(MailMessage, message_id)
        if message is None:
            return
        now = self.clock()
        values: dict[str, object] = {"attempts": message.attempts + 1, "leased_until": None}
        if message.created_at <= now - GIVE_UP_AFTER:
            values.update(given_up_at=now, last_error="Not sent within 7 days; given up.")
        else:
            try:
                folder_file = await self.transport.send(message)
            except SendFailed as failure:
                values["last_error"] = failure.reason
                if failure.final:
                    values["given_up_at"] = now
                else:
                    values["next_attempt_at"] = now + backoff(message.attempts + 1)
            else:
                values.update(sent_at=now, last_error=None, folder_file=folder_file)
                if not isinstance(self.transport, FolderTransport):
                    values["raw"] = None
        async with self.session_maker() as session, session.begin():
            await session.execute(
                update(MailMessage).where(col(MailMessage.id) == message_id).values(**values)
            )
