"""calendar feed secret

Revision ID: 0010
Revises: 0009
Created: 2026-12-08

Calendar feeds get their own secret per user: before, a feed address carried a full API token.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import federation.storage

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feed_secret",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("selector", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("verifier_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_calendar_feed_secret_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feed_secret")),
        sa.UniqueConstraint("selector", name=op.f("uq_calendar_feed_secret_selector")),
        sa.UniqueConstraint("user_id", name=op.f("uq_calendar_feed_secret_user_id")),
    )


def downgrade() -> None:
    op.drop_table("calendar_feed_secret")
