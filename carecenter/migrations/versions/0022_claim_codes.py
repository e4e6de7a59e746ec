"""Claims in the receiver's format: a center's administrative division code (GB/T 2260), a
service's national LTCI item code and the province's own code, and each closed month's export
rows as they were when it closed

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carecenter.db

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place (ALTER TABLE): rebuilding a table on SQLite would drop it under its foreign keys.
    op.add_column("center", sa.Column("division_code", sa.String(length=6), nullable=True))
    op.add_column("service_offering", sa.Column("ltci_code", sa.String(length=17), nullable=True))
    op.add_column("service_offering", sa.Column("province_code", sa.String(length=30), nullable=True))
    op.create_table(
        "month_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("center_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("created_at", carecenter.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["center_id"], ["center.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("center_id", "month", "kind", name="uq_month_export_center_id_month_kind"),
    )


def downgrade() -> None:
    op.drop_table("month_export")
    op.drop_column("service_offering", "province_code")
    op.drop_column("service_offering", "ltci_code")
    op.drop_column("center", "division_code")
