"""The ``partner_client`` table and the API shapes of partner client registration."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, EmailStr
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from federation.storage import utc_column, utcnow

PartnerScope = Literal[
    "events:read",
    "forums:read",
    "endorsements:read",
    "canvass:read",
    "organizations:read",
    "webhooks:manage",
]


class PartnerClient(SQLModel, table=True):
    """One partner's OAuth2 client. Only the SHA-256 of its secret is stored.

    The secret is 256 random bits, so a fast hash is enough: there is nothing to guess, only a
    database dump that must not hold a usable credential.
    """

    __tablename__ = "partner_client"

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    secret_hash: str = Field(max_length=64)
    name: str = Field(max_length=120)
    contact: str = Field(max_length=320)
    scopes: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    expires_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_by: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")

    def is_usable(self, *, now: datetime) -> bool:
        """Not revoked and not past its expiry: it may get tokens and use them."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now


# ---- API shapes -----------------------------------------------------------------------------


class PartnerClientCreate(BaseModel):
    name: str = PydanticField(min_length=1, max_length=120, examples=["SEIU Local 73"])
    contact: EmailStr = PydanticField(
        max_length=320, description="Who to call about this client.", examples=["it@local73.org"]
    )
    scopes: list[PartnerScope] = PydanticField(
        min_length=1, description="What the client may read or manage."
    )
    expires_at: datetime | None = PydanticField(
        default=None, description="When the credentials stop working; never if omitted."
    )


class PartnerClientPublic(BaseModel):
    client_id: str
    name: str
    contact: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    created_by: int | None
    is_active: bool


class PartnerClientCreated(PartnerClientPublic):
    """The new client, with its secret: shown this once, never again."""

    client_secret: str = PydanticField(
        description="Shown once. Store it now: the node keeps only its hash."
    )


class PartnerWhoami(BaseModel):
    """What the token in hand allows."""

    client_id: str
    name: str
    scopes: list[str]
    token_expires_at: datetime
