"""the public face: the group profile, and endorsements shown on the public home

Revision ID: 0016
Revises: 0015
Created: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import federation.storage

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("about", sa.Text(), nullable=False),
        sa.Column("contact_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("updated_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_group_profile_single_row")),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["user_account.id"],
            name=op.f("fk_group_profile_updated_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_profile")),
    )
    # Plain ALTER TABLE, not batch mode: on SQLite a batch copies the table and drops the old
    # one, and with foreign keys on that drop cascades to its signatures and votes.
    op.add_column("endorsement", sa.Column("public_content_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("endorsement", "public_content_version")  # SQLite 3.35+ drops in place
    op.drop_table("group_profile")
