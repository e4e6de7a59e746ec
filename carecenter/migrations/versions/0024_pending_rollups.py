"""Roll-ups of committed readings waiting to be added to the hourly table (PostgreSQL's batches)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carecommon.sqltypes

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reading_hourly_pending",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("vital", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("hour", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("minimum", sa.Float(), nullable=False),
        sa.Column("maximum", sa.Float(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # what is pending goes into the hourly table first
        op.execute(
            "WITH moved AS (DELETE FROM reading_hourly_pending RETURNING *) "
            "INSERT INTO reading_hourly (resident_id, vital, hour, minimum, maximum, total, samples) "
            "SELECT resident_id, vital, hour, min(minimum), max(maximum), sum(total), sum(samples) "
            "FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 "
            "ON CONFLICT (resident_id, vital, hour) DO UPDATE SET "
            "minimum = least(reading_hourly.minimum, excluded.minimum), "
            "maximum = greatest(reading_hourly.maximum, excluded.maximum), "
            "total = reading_hourly.total + excluded.total, samples = reading_hourly.samples + excluded.samples"
        )
    op.drop_table("reading_hourly_pending")
