"""sealed ballots

A cast ballot is kept sealed until its vote closes, then written to ``endorsement_ballot`` with
the others (see ``node.endorsements.voting``). Ballots written before this revision were
written by their voter's own transaction, in voting order; they are written again here, all
in this one transaction, ordered by vote and choice, with new random ids, so that no ballot
row shares a transaction id or a position with a voter's row any more.

Revision ID: 0009
Revises: 0008
Created: 2026-12-08
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ballot = sa.table(
    "endorsement_ballot",
    sa.column("id", sa.String),
    sa.column("vote_id", sa.String),
    sa.column("choice", sa.String),
)
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

    connection = op.get_bind()
    kept = connection.execute(
        sa.select(ballot.c.vote_id, ballot.c.choice).order_by(ballot.c.vote_id, ballot.c.choice)
    ).all()
    if kept:
        connection.execute(sa.delete(ballot))
        connection.execute(
            sa.insert(ballot),
            [{"id": str(uuid.uuid4()), "vote_id": vote_id, "choice": choice}
             for vote_id, choice in kept],
        )  # fmt: skip


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
