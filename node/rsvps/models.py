"""Tables and form shapes of RSVPs: who said they are coming to one of this node's events.

An RSVP is personal data, like a member record: it stays on this node. Nothing here is ever
put in a federation payload, a webhook message or a partner API response; those see counts
at most (``node.rsvps.service.counts``). Each RSVP is linked to the member record with its
email (made, with source ``rsvp``, when there is none), so the group knows its neighbours.

An RSVP's life::

    going ─────────> cancelled          (the first waitlisted person takes the place)
    waitlisted ──┬─> going              (a place freed up: she is told by email)
                 └─> cancelled
    cancelled ──> going | waitlisted    (she RSVPs again with the same email)

Walk-ins (added at the door by an organizer) are ``going`` and checked in from the start; the
door does not check capacity, since they are already in the room.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, EmailStr, StringConstraints, ValidationError
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from federation.storage import enum_column, utc_column, utcnow
from node.members.models import EMAIL_MAX, NAME_MAX, PHONE_MAX, Phone
from node.text import ONE_LINE


class RsvpState(enum.StrEnum):
    going = "going"
    waitlisted = "waitlisted"
    cancelled = "cancelled"


class Rsvp(SQLModel, table=True):
    __tablename__ = "rsvp"
    __table_args__ = (sa.UniqueConstraint("event_id", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(foreign_key="event.id", max_length=36, index=True, ondelete="CASCADE")
    member_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    name: str = Field(max_length=NAME_MAX)
    # Lowercased; NULL only for a walk-in who gave none (NULLs do not collide in the unique).
    email: str | None = Field(default=None, max_length=EMAIL_MAX)
    phone: str = Field(default="", max_length=PHONE_MAX)
    texts_ok: bool = False
    share_with_co_hosts: bool = False
    state: RsvpState = Field(sa_column=sa.Column(enum_column(RsvpState), nullable=False))
    is_walk_in: bool = False
    # The SHA-256 of the private link's secret; the secret itself is only ever in the link.
    token_hash: str | None = Field(default=None, max_length=64, sa_column_kwargs={"unique": True})
    checked_in_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # When she joined the waitlist: its order (first come, first promoted).
    waitlisted_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    @property
    def is_checked_in(self) -> bool:
        return self.checked_in_at is not None


# ---- what a neighbour and an organizer fill in ------------------------------------------------

RsvpName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX), ONE_LINE
]
RsvpEmail = Annotated[EmailStr, PydanticField(max_length=EMAIL_MAX)]


class RsvpChoices(BaseModel):
    """What she may change later through her private link."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: RsvpName
    phone: Phone = ""
    texts_ok: bool = False
    share_with_co_hosts: bool = False


class RsvpCreate(RsvpChoices):
    email: RsvpEmail


class WalkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: RsvpName
    email: RsvpEmail | None = None
    phone: Phone = ""


_MESSAGES = {
    "name": "Give your name (up to 120 characters, on one line), so the hosts know who is coming.",
    "email": "Give an email address such as ana@example.org: your confirmation and the link "
    "to change your RSVP go there.",
}


def form_errors(exc: ValidationError) -> dict[str, str]:
    """The problems of a form, by field, in words that say how to fix each."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error.get("loc") else "form"
        message = _MESSAGES.get(name)
        if message is None:
            # The phone rule's own message already says what to do; pydantic prefixes it.
            message = str(error.get("msg", "")).removeprefix("Value error, ")
            if name == "phone":
                message = f"Phone: {message}"
        errors.setdefault(name, message)
    return errors


def texts_need_a_phone(data: RsvpChoices) -> dict[str, str]:
    """The one rule across fields: texts go to a phone number."""
    if data.texts_ok and not data.phone:
        return {"phone": "Give a phone number to get texts, or untick the texts box."}
    return {}
