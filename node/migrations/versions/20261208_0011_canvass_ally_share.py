"""canvass ally share: how many places each ally may fill per shift

Revision ID: 0011
Revises: 0010
Created: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing calls keep NULL: the fair share, which a call posted before had no way to set.
    with op.batch_alter_table("canvass_call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ally_share", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_canvass_call_ally_share_positive"),
            "ally_share IS NULL OR ally_share >= 1",
        )


def downgrade() -> None:
    with op.batch_alter_table("canvass_call", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_canvass_call_ally_share_positive"), type_="check")
        batch_op.drop_column("ally_share")
