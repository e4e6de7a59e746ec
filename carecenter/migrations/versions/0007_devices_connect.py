"""Real devices connect: watches over TCP (protocol, connection state, commands), unknown ids, watch-off alerts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:54:06.241509
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carecommon.sqltypes

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unknown_device",
        sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_unknown_device")),
    )
    op.create_table(
        "device_command",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("center_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("content", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(["center_id"], ["center.id"], name=op.f("fk_device_command_center_id_center")),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], name=op.f("fk_device_command_device_id_device")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_command")),
    )
    with op.batch_alter_table("device_command", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_command_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_device_command_status"), ["status"], unique=False)

    # Plain ADD COLUMN, also on SQLite: batch mode would copy and drop these tables, which other
    # tables' foreign keys refer to.
    op.add_column("device", sa.Column("protocol", sa.String(length=16), nullable=False, server_default="http"))
    op.add_column("device", sa.Column("connected_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True))
    op.add_column("device", sa.Column("disconnected_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True))
    op.add_column("device", sa.Column("last_frame_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True))
    op.add_column("device", sa.Column("last_frame", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("device", sa.Column("last_cells", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))

    op.add_column("resident", sa.Column("watch_removed_alert", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("resident", "watch_removed_alert")

    for column in ("last_cells", "last_frame", "last_frame_at", "disconnected_at", "connected_at", "protocol"):
        op.drop_column("device", column)

    with op.batch_alter_table("device_command", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_command_status"))
        batch_op.drop_index(batch_op.f("ix_device_command_device_id"))

    op.drop_table("device_command")
    op.drop_table("unknown_device")
