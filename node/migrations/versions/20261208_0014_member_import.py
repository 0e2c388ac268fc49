"""member import jobs

Revision ID: 0014
Revises: 0013
Created: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import federation.storage

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "checking",
                "saving",
                "done",
                "rejected",
                "failed",
                name="importstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("rows_checked", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("ignored_columns", sa.JSON(), nullable=False),
        sa.Column("problem_rows", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("created_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", federation.storage.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_import")),
    )
    with op.batch_alter_table("member_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_import_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("member_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_import_created_at"))
    op.drop_table("member_import")
