"""Users of this node, their API tokens and web sessions."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, EmailStr
from pydantic import Field as PydanticField
from pydantic_core import PydanticCustomError
from sqlmodel import Field, SQLModel

from federation.storage import enum_column, utc_column, utcnow
from node.text import single_line


class Role(enum.StrEnum):
    """What a user may do. Each role includes the ones below it."""

    member = "member"
    organizer = "organizer"
    admin = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def includes(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.member: 0, Role.organizer: 1, Role.admin: 2}


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, sa_column_kwargs={"unique": True})
    display_name: str = Field(default="", max_length=120)
    role: Role = Field(sa_column=sa.Column(enum_column(Role), nullable=False))
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ApiToken(SQLModel, table=True):
    """A bearer token for scripts. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    name: str = Field(default="", max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


FEED_SECRET_PREFIX = "ipofeed_"  # noqa: S105 -- a prefix, not a secret


class CalendarFeedSecret(SQLModel, table=True):
    """The secret in a user's calendar feed address: it reads her coalition calendar feed and
    opens nothing else. One per user; making a new one replaces it.

    The secret is a selector, stored as is to find the row, and a verifier, of which only the
    SHA-256 is stored and compared in constant time: a database dump holds no usable address.
    """

    __tablename__ = "calendar_feed_secret"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        foreign_key="user_account.id", ondelete="CASCADE", sa_column_kwargs={"unique": True}
    )
    selector: str = Field(max_length=16, sa_column_kwargs={"unique": True})
    verifier_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class WebSession(SQLModel, table=True):
    """A browser login. The cookie holds a random id; its SHA-256 is the key here."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    session_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())


class LoginThrottle(SQLModel, table=True):
    """Failed logins of one account or one client address (``node.accounts.throttle``).

    The key is an HMAC of the email or address under the node's secret: the table says how
    often someone failed, not who tried, and a dump of it names no one.
    """

    __tablename__ = "login_throttle"

    key_hash: str = Field(max_length=64, primary_key=True)
    kind: str = Field(max_length=16)  # "account" or "address"
    failures: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    forget_at: datetime = Field(sa_column=utc_column(index=True))


InvitationState = Literal["pending", "accepted", "cancelled", "expired"]
INVITATION_PREFIX = "ipoinv_"
RESET_PREFIX = "iporeset_"


class Invitation(SQLModel, table=True):
    """An admin's invitation to make an account with a role, by a one-time link that expires.

    Only the SHA-256 of the link's token is stored. States: pending until it is accepted (an
    account is made), cancelled by an admin, replaced by a newer invitation to the same
    address (also ``cancelled_at``), or past ``expires_at``.
    """

    __tablename__ = "invitation"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, index=True)
    role: Role = Field(sa_column=sa.Column(enum_column(Role), nullable=False))
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    invited_by_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    user_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    accepted_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    cancelled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))

    def state(self, now: datetime) -> InvitationState:
        if self.accepted_at is not None:
            return "accepted"
        if self.cancelled_at is not None:
            return "cancelled"
        return "expired" if self.expires_at <= now else "pending"


class PasswordReset(SQLModel, table=True):
    """A one-time link that sets a user's password, asked for on the "forgot password" page or
    made by an admin. Only the SHA-256 of its token is stored; ``used_at`` is set when it is
    used or when the password changes another way (it cannot be used after that)."""

    __tablename__ = "password_reset"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


# ---- API shapes -----------------------------------------------------------------------------

PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH = 10, 256


def _password_rules(value: str) -> str:
    """The one rule set for a new password, on the API and the pages alike."""
    if len(value) < PASSWORD_MIN_LENGTH:
        raise PydanticCustomError(
            "password_too_short",
            "Use a password of at least {minimum} characters; a few words make a good one.",
            {"minimum": PASSWORD_MIN_LENGTH},
        )
    if len(value) > PASSWORD_MAX_LENGTH:
        raise PydanticCustomError(
            "password_too_long",
            "Use a password of at most {maximum} characters.",
            {"maximum": PASSWORD_MAX_LENGTH},
        )
    return value


NewPassword = Annotated[
    str,
    AfterValidator(_password_rules),
    PydanticField(
        json_schema_extra={"minLength": PASSWORD_MIN_LENGTH, "maxLength": PASSWORD_MAX_LENGTH}
    ),
]
"""A password being set: 10 to 256 characters."""


class UserPublic(BaseModel):
    id: int
    email: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime


class UserCreate(BaseModel):
    email: EmailStr
    display_name: str = PydanticField(default="", max_length=120)
    role: Role = Role.member
    password: NewPassword

    model_config = {"extra": "forbid"}


class UserUpdate(BaseModel):
    display_name: str | None = PydanticField(default=None, max_length=120)
    role: Role | None = None
    is_active: bool | None = None
    password: NewPassword | None = None

    model_config = {"extra": "forbid"}


class LoginRequest(BaseModel):
    email: EmailStr
    password: str = PydanticField(max_length=256)

    model_config = {"extra": "forbid"}


class LoginResponse(BaseModel):
    user: UserPublic
    csrf_token: str = PydanticField(
        description="Send it back as the X-CSRF-Token header on every cookie-authenticated "
        "POST, PATCH, PUT or DELETE."
    )


class TokenCreate(BaseModel):
    name: str = PydanticField(default="", max_length=120)

    model_config = {"extra": "forbid"}


class TokenCreated(BaseModel):
    id: int
    name: str
    token: str = PydanticField(description="Shown once. Send it as `Authorization: Bearer ...`.")


class CalendarFeed(BaseModel):
    """Whether you have a calendar feed address, and since when (the address is not kept)."""

    created_at: datetime


class CalendarFeedCreated(BaseModel):
    url: str = PydanticField(
        description="Shown once: give it to your calendar app. It reads your coalition calendar "
        "and nothing else; making a new one or deleting it stops this one at once."
    )
    created_at: datetime


def _chosen_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError(
            "name_missing", "Write the name others here will see, for example Ana Flores."
        )
    if len(value) > 120:
        raise PydanticCustomError("name_too_long", "Use a name of at most 120 characters.")
    return single_line(value)


ChosenName = Annotated[str, AfterValidator(_chosen_name)]
"""The name a person gives herself: one line, 1 to 120 characters, spaces around dropped."""


class InvitationCreate(BaseModel):
    email: EmailStr
    role: Role = Role.member

    model_config = {"extra": "forbid"}


class InvitationPublic(BaseModel):
    id: int
    email: str
    role: Role
    state: InvitationState
    created_at: datetime
    expires_at: datetime


class InvitationCreated(InvitationPublic):
    url: str | None = PydanticField(
        description="The invitation link, only when this node has no SMTP server (otherwise it "
        "was emailed to the invitee and is not shown). Shown once: only its hash is kept."
    )


class InvitationAccept(BaseModel):
    """What the invitee sets when she opens her invitation link."""

    display_name: ChosenName
    password: NewPassword

    model_config = {"extra": "forbid"}


class InvitationAcceptRequest(InvitationAccept):
    token: str = PydanticField(max_length=200, description="The token at the end of the link.")


class ForgotPassword(BaseModel):
    email: EmailStr

    model_config = {"extra": "forbid"}


class PasswordResetRequest(BaseModel):
    token: str = PydanticField(max_length=200, description="The token at the end of the link.")
    password: NewPassword

    model_config = {"extra": "forbid"}


class PasswordChange(BaseModel):
    current_password: str = PydanticField(max_length=256)
    new_password: NewPassword

    model_config = {"extra": "forbid"}


class ResetLinkCreated(BaseModel):
    expires_at: datetime
    url: str | None = PydanticField(
        description="The reset link, only when this node has no SMTP server (otherwise it was "
        "emailed to the user). Shown once: only its hash is kept."
    )
