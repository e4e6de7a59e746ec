"""The mobile network a device's last frames came through: an outage's words name the carrier

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("device", sa.Column("last_network", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True))


def downgrade() -> None:
    op.drop_column("device", "last_network")
