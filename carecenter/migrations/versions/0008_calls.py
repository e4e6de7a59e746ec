"""Phone calls in the outbox: a channel per row (sms or voice) and the key a called person pressed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on SQLite too (no table copy): every existing row is an SMS.
    op.add_column(
        "sms_message",
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False, server_default="sms"),
    )
    op.add_column("sms_message", sa.Column("digits", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))


def downgrade() -> None:
    op.drop_column("sms_message", "digits")
    op.drop_column("sms_message", "channel")
