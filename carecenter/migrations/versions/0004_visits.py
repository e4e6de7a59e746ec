"""care plans and visits; audit reasons; visit updates for family

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:51:23.213086
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carecommon.sqltypes

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "care_plan",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("preferred_worker_id", sa.Integer(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("center_id", sa.Integer(), nullable=False),
        sa.Column("recurrence", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["center_id"], ["center.id"], name=op.f("fk_care_plan_center_id_center")),
        sa.ForeignKeyConstraint(
            ["preferred_worker_id"], ["staff.id"], name=op.f("fk_care_plan_preferred_worker_id_staff")
        ),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"], name=op.f("fk_care_plan_resident_id_resident")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plan")),
    )
    with op.batch_alter_table("care_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_plan_center_id"), ["center_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_care_plan_resident_id"), ["resident_id"], unique=False)

    op.create_table(
        "visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("center_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("care_plan_id", sa.Integer(), nullable=True),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_start", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("scheduled_end", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column("cancel_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("tasks", sa.JSON(), nullable=False),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("checked_in_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_out_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("check_in_distance_m", sa.Float(), nullable=True),
        sa.Column("check_out_distance_m", sa.Float(), nullable=True),
        sa.Column("far_from_home", sa.Boolean(), nullable=False),
        sa.Column("concern", sa.Boolean(), nullable=False),
        sa.Column("concern_note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("reminder_sent_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("late_notified_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("missed_notified_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("time_corrected", sa.Boolean(), nullable=False),
        sa.Column("created_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["care_plan_id"], ["care_plan.id"], name=op.f("fk_visit_care_plan_id_care_plan")),
        sa.ForeignKeyConstraint(["center_id"], ["center.id"], name=op.f("fk_visit_center_id_center")),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"], name=op.f("fk_visit_resident_id_resident")),
        sa.ForeignKeyConstraint(["worker_id"], ["staff.id"], name=op.f("fk_visit_worker_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit")),
        sa.UniqueConstraint("care_plan_id", "scheduled_start", name="uq_visit_care_plan_id_scheduled_start"),
    )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_center_id"), ["center_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visit_resident_id"), ["resident_id"], unique=False)
        batch_op.create_index("ix_visit_status_start", ["status", "scheduled_start"], unique=False)
        batch_op.create_index("ix_visit_worker_start", ["worker_id", "scheduled_start"], unique=False)

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))

    with op.batch_alter_table("family_contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visit_updates", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("family_contact", schema=None) as batch_op:
        batch_op.drop_column("visit_updates")

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("reason")

    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_worker_start")
        batch_op.drop_index("ix_visit_status_start")
        batch_op.drop_index(batch_op.f("ix_visit_resident_id"))
        batch_op.drop_index(batch_op.f("ix_visit_center_id"))

    op.drop_table("visit")
    with op.batch_alter_table("care_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_plan_resident_id"))
        batch_op.drop_index(batch_op.f("ix_care_plan_center_id"))

    op.drop_table("care_plan")
