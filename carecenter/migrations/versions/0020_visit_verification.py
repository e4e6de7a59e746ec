"""Visit verification: how each end of a visit was captured, visits entered by hand, the
exception queue's state, and the residents' home codes

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carecenter.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def visit_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("check_in_method", sa.String(10), nullable=True),
        sa.Column("check_out_method", sa.String(10), nullable=True),
        sa.Column("manual_reason", sa.String(300), nullable=True),
        sa.Column("manual_by", sa.String(60), nullable=True),
        sa.Column("exception", sa.String(10), nullable=True),
        sa.Column("exception_problems", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("exception_reason", sa.String(300), nullable=True),
        sa.Column("exception_decided_by", sa.String(60), nullable=True),
        sa.Column("exception_decided_at", carecenter.db.UTCDateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    for column in visit_columns():
        op.add_column("visit", column)
    # Added in place (ALTER TABLE ADD COLUMN): rebuilding `resident` on SQLite would drop the table
    # under its foreign keys (refused, or cascading into the family contacts).
    op.add_column("resident", sa.Column("home_code_version", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("resident", sa.Column("home_code_active", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("month_close", sa.Column("exceptions_excluded", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_visit_exception", "visit", ["center_id", "exception"])
    # Visits done before: each end as it was captured then (a corrected time is by hand); a done
    # visit that would not verify now waits in the queue like a new one.
    op.execute(
        "UPDATE visit SET check_in_method = CASE WHEN time_corrected THEN 'manual' "
        "WHEN check_in_distance_m IS NULL THEN 'none' ELSE 'gps' END WHERE checked_in_at IS NOT NULL"
    )
    op.execute(
        "UPDATE visit SET check_out_method = CASE WHEN time_corrected THEN 'manual' "
        "WHEN check_out_distance_m IS NULL THEN 'none' ELSE 'gps' END WHERE checked_out_at IS NOT NULL"
    )
    op.execute(
        "UPDATE visit SET exception = 'open' WHERE status = 'completed' AND (time_corrected OR far_from_home "
        "OR check_in_distance_m IS NULL OR check_out_distance_m IS NULL)"
    )


def downgrade() -> None:
    # Dropped in place (SQLite 3.35+ ALTER TABLE DROP COLUMN), for the same reason as above.
    op.drop_index("ix_visit_exception", "visit")
    op.drop_column("month_close", "exceptions_excluded")
    op.drop_column("resident", "home_code_active")
    op.drop_column("resident", "home_code_version")
    for column in reversed(visit_columns()):
        op.drop_column("visit", column.name)
