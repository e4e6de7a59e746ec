"""devices, readings, alerts, escalation policy, rule state, duty roster

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:17:23.791534
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carecommon.sqltypes

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "duty_shift",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("center_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("starts_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["center_id"], ["center.id"], name=op.f("fk_duty_shift_center_id_center")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_shift")),
    )
    with op.batch_alter_table("duty_shift", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duty_shift_center_id"), ["center_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_duty_shift_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "escalation_policy",
        sa.Column("center_id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("updated_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["center_id"], ["center.id"], name=op.f("fk_escalation_policy_center_id_center")),
        sa.PrimaryKeyConstraint("center_id", name=op.f("pk_escalation_policy")),
    )
    op.create_table(
        "duty_shift_staff",
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["shift_id"], ["duty_shift.id"], name=op.f("fk_duty_shift_staff_shift_id_duty_shift")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_duty_shift_staff_staff_id_staff")),
        sa.PrimaryKeyConstraint("shift_id", "staff_id", name=op.f("pk_duty_shift_staff")),
    )
    op.create_table(
        "device",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reporting_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("center_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("key_prefix", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("key_rotated_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("battery_pct", sa.Integer(), nullable=True),
        sa.Column("last_seen_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["center_id"], ["center.id"], name=op.f("fk_device_center_id_center")),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"], name=op.f("fk_device_resident_id_resident")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_device_key_hash")),
        sa.UniqueConstraint("serial", name=op.f("uq_device_serial")),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_center_id"), ["center_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_device_resident_id"), ["resident_id"], unique=False)

    op.create_table(
        "rule_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("breach_since", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("breach_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"], name=op.f("fk_rule_state_resident_id_resident")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_state")),
        sa.UniqueConstraint("resident_id", "rule", name="uq_rule_state_resident_id_rule"),
    )
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("center_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column("opened_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_triggered_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("trigger_count", sa.Integer(), nullable=False),
        sa.Column("last_value", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("escalation_started_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalation_steps_done", sa.Integer(), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("next_escalation_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_via", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("on_site_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("on_site_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("resolution_note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("closed_reason", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.ForeignKeyConstraint(["acknowledged_by"], ["staff.id"], name=op.f("fk_alert_acknowledged_by_staff")),
        sa.ForeignKeyConstraint(["center_id"], ["center.id"], name=op.f("fk_alert_center_id_center")),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], name=op.f("fk_alert_device_id_device")),
        sa.ForeignKeyConstraint(["on_site_by"], ["staff.id"], name=op.f("fk_alert_on_site_by_staff")),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"], name=op.f("fk_alert_resident_id_resident")),
        sa.ForeignKeyConstraint(["resolved_by"], ["staff.id"], name=op.f("fk_alert_resolved_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_center_id"), ["center_id"], unique=False)
        batch_op.create_index("ix_alert_due", ["status", "next_escalation_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_opened_at"), ["opened_at"], unique=False)
        batch_op.create_index(
            "uq_alert_active_resident_kind",
            ["resident_id", "kind"],
            unique=True,
            postgresql_where=sa.text("status IN ('open', 'acknowledged')"),
            sqlite_where=sa.text("status IN ('open', 'acknowledged')"),
        )

    op.create_table(
        "reading",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("center_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("recorded_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heart_rate", sa.Integer(), nullable=True),
        sa.Column("spo2", sa.Integer(), nullable=True),
        sa.Column("systolic", sa.Integer(), nullable=True),
        sa.Column("diastolic", sa.Integer(), nullable=True),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("blood_glucose", sa.Float(), nullable=True),
        sa.Column("steps", sa.Integer(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("battery_pct", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["center_id"], ["center.id"], name=op.f("fk_reading_center_id_center")),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], name=op.f("fk_reading_device_id_device")),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"], name=op.f("fk_reading_resident_id_resident")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading")),
        sa.UniqueConstraint("device_id", "event_id", name="uq_reading_device_id_event_id"),
    )
    with op.batch_alter_table("reading", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reading_center_id"), ["center_id"], unique=False)
        batch_op.create_index("ix_reading_resident_recorded", ["resident_id", "recorded_at"], unique=False)

    op.create_table(
        "alert_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], name=op.f("fk_alert_event_alert_id_alert")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_alert_event_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_event")),
    )
    with op.batch_alter_table("alert_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_event_alert_id"), ["alert_id"], unique=False)

    with op.batch_alter_table("center", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_thresholds", sa.JSON(), nullable=True))

    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("daily_ok_checkin", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("alert_thresholds", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_column("alert_thresholds")
        batch_op.drop_column("daily_ok_checkin")

    with op.batch_alter_table("center", schema=None) as batch_op:
        batch_op.drop_column("alert_thresholds")

    with op.batch_alter_table("alert_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_event_alert_id"))

    op.drop_table("alert_event")
    with op.batch_alter_table("reading", schema=None) as batch_op:
        batch_op.drop_index("ix_reading_resident_recorded")
        batch_op.drop_index(batch_op.f("ix_reading_center_id"))

    op.drop_table("reading")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_alert_active_resident_kind",
            postgresql_where=sa.text("status IN ('open', 'acknowledged')"),
            sqlite_where=sa.text("status IN ('open', 'acknowledged')"),
        )
        batch_op.drop_index(batch_op.f("ix_alert_opened_at"))
        batch_op.drop_index("ix_alert_due")
        batch_op.drop_index(batch_op.f("ix_alert_center_id"))

    op.drop_table("alert")
    op.drop_table("rule_state")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_resident_id"))
        batch_op.drop_index(batch_op.f("ix_device_center_id"))

    op.drop_table("device")
    op.drop_table("duty_shift_staff")
    op.drop_table("escalation_policy")
    with op.batch_alter_table("duty_shift", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duty_shift_starts_at"))
        batch_op.drop_index(batch_op.f("ix_duty_shift_center_id"))

    op.drop_table("duty_shift")
