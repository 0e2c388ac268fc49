"""sealed ballots

A cast ballot is kept sealed until its vote closes, then written to ``endorsement_ballot`` with
the others (see ``node.endorsements.voting``).

Revision ID: 0010
Revises: 0008
Created: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

sealed_ballot = sa.table("endorsement_sealed_ballot", sa.column("id", sa.String))


def upgrade() -> None:
    op.create_table(
        "endorsement_sealed_ballot",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("vote_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vote_id"],
            ["endorsement_vote.id"],
            name=op.f("fk_endorsement_sealed_ballot_vote_id_endorsement_vote"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endorsement_sealed_ballot")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("endorsement_sealed_ballot", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_endorsement_sealed_ballot_vote_id"), ["vote_id"], unique=False
        )


def downgrade() -> None:
    connection = op.get_bind()
    waiting = connection.execute(sa.select(sa.func.count()).select_from(sealed_ballot)).scalar()
    if waiting:
        # Dropping them would lose votes: the older code cannot open them.
        raise RuntimeError(
            f"{waiting} sealed ballots wait for their vote to close; close the open member "
            "votes before downgrading"
        )
    with op.batch_alter_table("endorsement_sealed_ballot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_endorsement_sealed_ballot_vote_id"))

    op.drop_table("endorsement_sealed_ballot")
