"""The home gateway a device's readings come through: an outage of one gateway is one incident

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 04:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # SQLite adds a foreign key only with the column itself
        op.execute("ALTER TABLE device ADD COLUMN gateway_id INTEGER REFERENCES device (id)")
    else:
        op.add_column("device", sa.Column("gateway_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_device_gateway_id_device"), "device", "device", ["gateway_id"], ["id"])
    op.create_index(op.f("ix_device_gateway_id"), "device", ["gateway_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_device_gateway_id"), table_name="device")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("fk_device_gateway_id_device"), "device", type_="foreignkey")
    op.drop_column("device", "gateway_id")
