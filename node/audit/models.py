"""The audit log: who did what to which object. Append-only, enforced by the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from federation.storage import utc_column, utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))
    actor_kind: str = Field(max_length=16)
    actor_user_id: int | None = Field(default=None, index=True)
    actor_label: str = Field(default="", max_length=320)
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(max_length=32)
    object_id: str = Field(default="", max_length=512)
    detail: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    actor_kind: str
    actor_user_id: int | None
    actor_label: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]
