"""SMS sender pacing: the next free send slot under a rate limit

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 12:40:01.352613
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carecommon.sqltypes

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_pace",
        sa.Column("sender", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("next_slot_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sender", name=op.f("pk_sms_pace")),
    )


def downgrade() -> None:
    op.drop_table("sms_pace")
