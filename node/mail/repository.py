"""Reading the mail queue for the admins' ``/mail`` page."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from node.mail.models import MailMessage


async def list_messages(
    session: AsyncSession, *, offset: int, limit: int
) -> tuple[list[MailMessage], int]:
    """The newest messages first, and how many there are in all."""
    total = (await session.execute(select(func.count()).select_from(MailMessage))).scalar_one()
    rows = await session.execute(
        select(MailMessage).order_by(col(MailMessage.id).desc()).offset(offset).limit(limit)
    )
    return list(rows.scalars()), int(total)


async def get_message(session: AsyncSession, message_id: int) -> MailMessage | None:
    return await session.get(MailMessage, message_id)
