"""The health platform's API: API clients of receiving systems, when each record last changed
(`_lastUpdated`), and the resident's consent to share the national ID number with the platform

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carecenter.db

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each table's new `updated_at`, first set from when the row began.
UPDATED = {
    "resident": "created_at",
    "family_contact": "created_at",
    "staff": "created_at",
    "care_plan": "created_at",
    "visit": "created_at",
    "assessment": "created_at",
    "alert": "opened_at",
}


def upgrade() -> None:
    op.create_table(
        "api_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=24), nullable=False),
        sa.Column("center_ids", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", carecenter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("revoked_at", carecenter.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", carecenter.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    # Columns are added in place (ALTER TABLE): rebuilding a table on SQLite would drop it under
    # the foreign keys that point at it.
    op.add_column("resident", sa.Column("consent_platform_id", sa.Boolean(), nullable=False, server_default=sa.false()))
    for table, since in UPDATED.items():
        op.add_column(table, sa.Column("updated_at", carecenter.db.UTCDateTime(timezone=True), nullable=True))
        op.execute(f"UPDATE {table} SET updated_at = {since}")  # noqa: S608 - names from the table above


def downgrade() -> None:
    for table in reversed(UPDATED):
        op.drop_column(table, "updated_at")
    op.drop_column("resident", "consent_platform_id")
    op.drop_table("api_client")
