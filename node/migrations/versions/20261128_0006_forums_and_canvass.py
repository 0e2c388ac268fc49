"""forums and canvass

Revision ID: 0006
Revises: 0005
Created: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import federation.storage

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canvass_call",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("object_id", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "campaign_kind",
            sa.Enum("candidate", "referendum", name="campaignkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("campaign_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("wards", sa.JSON(), nullable=False),
        sa.Column("turf_description", sa.Text(), nullable=False),
        sa.Column("staging_location", sa.JSON(), nullable=False),
        sa.Column("languages_needed", sa.JSON(), nullable=False),
        sa.Column("materials", sa.Text(), nullable=False),
        sa.Column("contact", sa.JSON(), nullable=True),
        sa.Column("waitlist_limit", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "cancelled", name="callstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("expires_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("relayed_at", federation.storage.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_canvass_call_version_positive")),
        sa.CheckConstraint(
            "waitlist_limit >= 0", name=op.f("ck_canvass_call_waitlist_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_canvass_call_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvass_call")),
        sa.UniqueConstraint("object_id", name=op.f("uq_canvass_call_object_id")),
    )
    with op.batch_alter_table("canvass_call", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_canvass_call_origin"), ["origin"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_canvass_call_updated_at"), ["updated_at"], unique=False
        )

    op.create_table(
        "canvass_signup",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("object_id", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("call_object_id", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("shift_object_id", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("handle", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("share_first_name", sa.Boolean(), nullable=False),
        sa.Column("share_contact", sa.Boolean(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "committed",
                "waitlisted",
                "refused",
                "cancelled",
                "withdrawn",
                name="signupstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("waitlist_position", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_canvass_signup_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvass_signup")),
        sa.UniqueConstraint("object_id", name=op.f("uq_canvass_signup_object_id")),
    )
    with op.batch_alter_table("canvass_signup", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_canvass_signup_call_object_id"), ["call_object_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_canvass_signup_shift_object_id"), ["shift_object_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_canvass_signup_user_id"), ["user_id"], unique=False)

    op.create_table(
        "canvass_report",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("object_id", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("call_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("shift_object_id", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("precincts", sa.JSON(), nullable=False),
        sa.Column("published_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["canvass_call.id"],
            name=op.f("fk_canvass_report_call_id_canvass_call"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvass_report")),
        sa.UniqueConstraint("object_id", name=op.f("uq_canvass_report_object_id")),
    )
    with op.batch_alter_table("canvass_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_canvass_report_call_id"), ["call_id"], unique=False)

    op.create_table(
        "canvass_shift",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("call_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("object_id", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("start_date", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_date", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("committed", sa.Integer(), nullable=False),
        sa.Column("waitlisted", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "cancelled", name="shiftstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_canvass_shift_capacity_not_negative")),
        sa.CheckConstraint("end_date > start_date", name=op.f("ck_canvass_shift_end_after_start")),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["canvass_call.id"],
            name=op.f("fk_canvass_shift_call_id_canvass_call"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvass_shift")),
        sa.UniqueConstraint("object_id", name=op.f("uq_canvass_shift_object_id")),
    )
    with op.batch_alter_table("canvass_shift", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_canvass_shift_call_id"), ["call_id"], unique=False)

    op.create_table(
        "forum_plan",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("object_id", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("start_date", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_date", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("location", sa.JSON(), nullable=True),
        sa.Column("accessibility_notes", sa.Text(), nullable=False),
        sa.Column("online_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("interpretation", sa.Text(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column(
            "visibility",
            sa.Enum(
                "public", "coalition", "private", name="visibility", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "confirmed",
                "tentative",
                "cancelled",
                name="eventstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("event_object_id", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("co_hosts", sa.JSON(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("candidate_invitations", sa.JSON(), nullable=False),
        sa.Column("agenda_items", sa.JSON(), nullable=False),
        sa.Column("question_submissions", sa.JSON(), nullable=False),
        sa.Column("tasks", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "capacity IS NULL OR capacity >= 0", name=op.f("ck_forum_plan_capacity_not_negative")
        ),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_forum_plan_end_after_start")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_forum_plan_version_positive")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_forum_plan_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
            name=op.f("fk_forum_plan_event_id_event"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_plan")),
        sa.UniqueConstraint("object_id", name=op.f("uq_forum_plan_object_id")),
    )
    with op.batch_alter_table("forum_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forum_plan_origin"), ["origin"], unique=False)
        batch_op.create_index(batch_op.f("ix_forum_plan_start_date"), ["start_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_forum_plan_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "canvass_commitment",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("object_id", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("shift_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("home_node", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("handle", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("given_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "committed",
                "waitlisted",
                "refused",
                "cancelled",
                "withdrawn",
                name="commitmentstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", federation.storage.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shift_id"],
            ["canvass_shift.id"],
            name=op.f("fk_canvass_commitment_shift_id_canvass_shift"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvass_commitment")),
        sa.UniqueConstraint("object_id", name=op.f("uq_canvass_commitment_object_id")),
    )
    with op.batch_alter_table("canvass_commitment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_canvass_commitment_home_node"), ["home_node"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_canvass_commitment_shift_id"), ["shift_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("canvass_commitment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_canvass_commitment_shift_id"))
        batch_op.drop_index(batch_op.f("ix_canvass_commitment_home_node"))

    op.drop_table("canvass_commitment")
    with op.batch_alter_table("forum_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forum_plan_updated_at"))
        batch_op.drop_index(batch_op.f("ix_forum_plan_start_date"))
        batch_op.drop_index(batch_op.f("ix_forum_plan_origin"))

    op.drop_table("forum_plan")
    with op.batch_alter_table("canvass_shift", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_canvass_shift_call_id"))

    op.drop_table("canvass_shift")
    with op.batch_alter_table("canvass_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_canvass_report_call_id"))

    op.drop_table("canvass_report")
    with op.batch_alter_table("canvass_signup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_canvass_signup_user_id"))
        batch_op.drop_index(batch_op.f("ix_canvass_signup_shift_object_id"))
        batch_op.drop_index(batch_op.f("ix_canvass_signup_call_object_id"))

    op.drop_table("canvass_signup")
    with op.batch_alter_table("canvass_call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_canvass_call_updated_at"))
        batch_op.drop_index(batch_op.f("ix_canvass_call_origin"))

    op.drop_table("canvass_call")
