"""Users of this node, their API tokens and web sessions."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, EmailStr
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from federation.storage import enum_column, utc_column, utcnow


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


# ---- API shapes -----------------------------------------------------------------------------


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
    password: str = PydanticField(min_length=10, max_length=256)

    model_config = {"extra": "forbid"}


class UserUpdate(BaseModel):
    display_name: str | None = PydanticField(default=None, max_length=120)
    role: Role | None = None
    is_active: bool | None = None
    password: str | None = PydanticField(default=None, min_length=10, max_length=256)

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
