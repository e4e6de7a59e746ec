"""Several gateway processes: which process holds a device's connection, and from which address

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("device", sa.Column("connected_from", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("device", sa.Column("connected_via", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))


def downgrade() -> None:
    op.drop_column("device", "connected_via")
    op.drop_column("device", "connected_from")
