"""mail queue

Revision ID: 0015
Revises: 0014
Created: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import federation.storage

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("folder_file", sa.String(length=200), nullable=True),
        sa.Column("created_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", federation.storage.UTCDateTime(timezone=True), nullable=True),
        sa.Column("leased_until", federation.storage.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", federation.storage.UTCDateTime(timezone=True), nullable=True),
        sa.Column("given_up_at", federation.storage.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_message")),
    )
    op.create_index(
        op.f("ix_mail_message_created_at"), "mail_message", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_mail_message_created_at"), table_name="mail_message")
    op.drop_table("mail_message")
