"""partner clients

Revision ID: 0007
Revises: 0006
Created: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import federation.storage

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", federation.storage.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", federation.storage.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_partner_client_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_client")),
        sa.UniqueConstraint("client_id", name=op.f("uq_partner_client_client_id")),
    )


def downgrade() -> None:
    op.drop_table("partner_client")
