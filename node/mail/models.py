"""The mail queue: one row per message, with the retry state of its sending.

The message is kept whole (``raw``, RFC 5322) until it is sent. Sent through SMTP, its text
is dropped and only who, what and when remain: messages carry private links (an RSVP's
change link, a password reset) that nobody on the node needs to read again. Written to the
mail folder, the folder holds the text and the row keeps the file's name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from federation.storage import utc_column, utcnow

MailState = Literal["queued", "sent", "failed"]


class MailMessage(SQLModel, table=True):
    __tablename__ = "mail_message"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64, description="What the message is for, e.g. rsvp_confirmed.")
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    raw: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=500)
    folder_file: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))
    next_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    leased_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    given_up_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))

    @property
    def state(self) -> MailState:
        if self.sent_at is not None:
            return "sent"
        return "failed" if self.given_up_at is not None else "queued"
