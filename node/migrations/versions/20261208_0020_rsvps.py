"""rsvps, and where a member record came from

Revision ID: 0020
Revises: 0019
Created: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import federation.storage

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=32), nullable=False, server_default="")
        )
    op.create_table(
        "rsvp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("texts_ok", sa.Boolean(), nullable=False),
        sa.Column("share_with_co_hosts", sa.Boolean(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("going", "waitlisted", "cancelled", name="rsvpstate", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("is_walk_in", sa.Boolean(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("checked_in_at", federation.storage.UTCDateTime(timezone=True), nullable=True),
        sa.Column("waitlisted_at", federation.storage.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_rsvp_event_id_event"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_rsvp_member_id_member"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rsvp")),
        sa.UniqueConstraint("event_id", "email", name=op.f("uq_rsvp_event_id_email")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_rsvp_token_hash")),
    )
    op.create_index(op.f("ix_rsvp_event_id"), "rsvp", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rsvp_event_id"), table_name="rsvp")
    op.drop_table("rsvp")
    with op.batch_alter_table("member") as batch:
        batch.drop_column("source")
