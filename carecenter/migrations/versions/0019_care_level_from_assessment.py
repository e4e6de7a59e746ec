"""A resident's care level comes from their latest signed assessment: the date it was assessed on

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("resident", sa.Column("care_level_assessed_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("resident", "care_level_assessed_on")
