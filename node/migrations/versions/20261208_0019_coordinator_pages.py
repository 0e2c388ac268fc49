"""coordinator pages: members' street address, and a suspension the peer told us of

Revision ID: 0019
Revises: 0018
Created: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import federation.storage

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing members have no address yet: empty, as a member added without one.
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("street_address", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("city", sa.String(length=100), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("state", sa.String(length=2), nullable=False, server_default="")
        )
    with op.batch_alter_table("member", schema=None) as batch_op:
        for name in ("street_address", "city", "state"):
            batch_op.alter_column(name, server_default=None)
    # Set while the peer has told us it suspended the alliance (FEDERATION.md 6.6).
    with op.batch_alter_table("peer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "suspended_by_peer_at",
                federation.storage.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("peer", schema=None) as batch_op:
        batch_op.drop_column("suspended_by_peer_at")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("state")
        batch_op.drop_column("city")
        batch_op.drop_column("street_address")
