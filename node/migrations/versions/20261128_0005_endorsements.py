"""endorsements

Revision ID: 0005
Revises: 0004
Created: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import federation.storage

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('endorsement',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('object_id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('office', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('district', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('election_date', sa.Date(), nullable=False),
    sa.Column('election_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('candidate_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('candidate_url', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
    sa.Column('measure', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('stance', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('tier', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('required_signers', sa.JSON(), nullable=False),
    sa.Column('rule_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('rule_threshold', sa.Integer(), nullable=True),
    sa.Column('deadline', federation.storage.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state', sa.Enum('draft', 'collecting', 'ratified', 'withdrawn', name='endorsementstate', native_enum=False, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_version', sa.Integer(), nullable=False),
    sa.Column('created_at', federation.storage.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', federation.storage.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.CheckConstraint('content_version >= 1', name=op.f('ck_endorsement_content_version_positive')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_endorsement_version_positive')),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_endorsement_created_by_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_endorsement')),
    sa.UniqueConstraint('object_id', name=op.f('uq_endorsement_object_id'))
    )
    with op.batch_alter_table('endorsement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_endorsement_origin'), ['origin'], unique=False)
        batch_op.create_index(batch_op.f('ix_endorsement_updated_at'), ['updated_at'], unique=False)

    op.create_table('endorsement_signature',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('endorsement_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('signature_id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('signer', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('content_version', sa.Integer(), nullable=False),
    sa.Column('jws', sa.Text(), nullable=False),
    sa.Column('vote_summary', sa.JSON(), nullable=True),
    sa.Column('is_verified', sa.Boolean(), nullable=False),
    sa.Column('received_at', federation.storage.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['endorsement_id'], ['endorsement.id'], name=op.f('fk_endorsement_signature_endorsement_id_endorsement'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_endorsement_signature')),
    sa.UniqueConstraint('endorsement_id', 'signer', name=op.f('uq_endorsement_signature_endorsement_id_signer'))
    )
    op.create_table('endorsement_vote',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('endorsement_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('content_version', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('open', 'closed', name='votestate', native_enum=False, length=32), nullable=False),
    sa.Column('threshold_numerator', sa.Integer(), nullable=False),
    sa.Column('threshold_denominator', sa.Integer(), nullable=False),
    sa.Column('eligible', sa.Integer(), nullable=False),
    sa.Column('yes', sa.Integer(), nullable=True),
    sa.Column('no', sa.Integer(), nullable=True),
    sa.Column('abstain', sa.Integer(), nullable=True),
    sa.Column('opened_at', federation.storage.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', federation.storage.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['endorsement_id'], ['endorsement.id'], name=op.f('fk_endorsement_vote_endorsement_id_endorsement'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_endorsement_vote')),
    sa.UniqueConstraint('endorsement_id', 'content_version', name=op.f('uq_endorsement_vote_endorsement_id_content_version'))
    )
    op.create_table('endorsement_ballot',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('vote_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('choice', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.ForeignKeyConstraint(['vote_id'], ['endorsement_vote.id'], name=op.f('fk_endorsement_ballot_vote_id_endorsement_vote'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_endorsement_ballot'))
    )
    with op.batch_alter_table('endorsement_ballot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_endorsement_ballot_vote_id'), ['vote_id'], unique=False)

    op.create_table('endorsement_voter',
    sa.Column('vote_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('has_voted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_endorsement_voter_user_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vote_id'], ['endorsement_vote.id'], name=op.f('fk_endorsement_voter_vote_id_endorsement_vote'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('vote_id', 'user_id', name=op.f('pk_endorsement_voter'))
    )


def downgrade() -> None:
    op.drop_table('endorsement_voter')
    with op.batch_alter_table('endorsement_ballot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_endorsement_ballot_vote_id'))

    op.drop_table('endorsement_ballot')
    op.drop_table('endorsement_vote')
    op.drop_table('endorsement_signature')
    with op.batch_alter_table('endorsement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_endorsement_updated_at'))
        batch_op.drop_index(batch_op.f('ix_endorsement_origin'))

    op.drop_table('endorsement')
