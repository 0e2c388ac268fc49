"""The group profile: one row, edited by admins, shown to anyone on the public home.

The group's name and wards are the node's settings (they are also in its node document); what
the profile adds is what a neighbour reading the home needs: a few paragraphs about the group
and an address to write to. Nothing here is personal data: it is what the group publishes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict
from sqlmodel import Field, SQLModel

from federation.storage import utc_column, utcnow
from node.text import free_text

ABOUT_MAX = 5_000
EMAIL_MAX = 254
PROFILE_ROW = 1


class GroupProfile(SQLModel, table=True):
    """The one row (``id`` is always 1): a second profile would be a second group."""

    __tablename__ = "group_profile"

    id: int = Field(default=PROFILE_ROW, primary_key=True)
    about: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    contact_email: str | None = Field(default=None, max_length=EMAIL_MAX)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_by: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")

    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    @property
    def paragraphs(self) -> list[str]:
        """The about text as paragraphs: a blank line starts a new one."""
        blocks = [block.strip() for block in self.about.replace("\r\n", "\n").split("\n\n")]
        return [block for block in blocks if block]


def _contact_email(value: str | None) -> str | None:
    """An address people can write to, or none when left empty; refused in words a group's
    admin can act on (``EmailStr`` answers "value is not a valid email address: ...")."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if len(value) > EMAIL_MAX:
            raise EmailNotValidError
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError(
            "The contact email must be one address like info@ward33.org (or leave it empty)."
        ) from None


def _about(value: str) -> str:
    value = value.strip()
    if len(value) > ABOUT_MAX:
        raise ValueError(
            f"The about text is {len(value):,} characters; keep it to {ABOUT_MAX:,} or fewer."
        )
    try:
        return free_text(value)
    except ValueError:
        raise ValueError(
            "The about text has a control character in it (pasted from another program?): "
            "retype the text around it."
        ) from None


About = Annotated[str, AfterValidator(_about)]
ContactEmail = Annotated[str | None, AfterValidator(_contact_email)]


class ProfileUpdate(BaseModel):
    """The whole profile, as the settings form sends it."""

    model_config = ConfigDict(extra="forbid")

    about: About = ""
    contact_email: ContactEmail = None
