"""A number's SMS state in one place: opt-out and unreachable live in sms_recipient only

The family contact's copies (sms_opt_in, unreachable_at, unreachable_code) could disagree with
what the outbox obeyed. What they held moves into sms_recipient (an opt-out or an unusable
number is kept, never lost), then the columns go.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import carecommon.sqltypes

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run(sql: str, **params: object) -> None:
    binds = [sa.bindparam(name, value, type_=carecommon.sqltypes.UTCDateTime()) for name, value in params.items()]
    op.get_bind().execute(sa.text(sql).bindparams(*binds))


def upgrade() -> None:
    _run(
        "INSERT INTO sms_recipient (phone) SELECT DISTINCT phone FROM family_contact"
        " WHERE (sms_opt_in = 'opted_out' OR unreachable_at IS NOT NULL)"
        " AND phone NOT IN (SELECT phone FROM sms_recipient)"
    )
    _run(
        "UPDATE sms_recipient SET opted_out_at = :now WHERE opted_out_at IS NULL"
        " AND phone IN (SELECT phone FROM family_contact WHERE sms_opt_in = 'opted_out')",
        now=datetime.now(UTC),
    )
    _run(
        "UPDATE sms_recipient SET"
        " unreachable_at = (SELECT MAX(c.unreachable_at) FROM family_contact c WHERE c.phone = sms_recipient.phone),"
        " unreachable_code = (SELECT MAX(c.unreachable_code) FROM family_contact c"
        " WHERE c.phone = sms_recipient.phone)"
        " WHERE unreachable_at IS NULL"
        " AND phone IN (SELECT phone FROM family_contact WHERE unreachable_at IS NOT NULL)"
    )
    with op.batch_alter_table("family_contact", schema=None) as batch_op:
        batch_op.drop_column("unreachable_code")
        batch_op.drop_column("unreachable_at")
        batch_op.drop_column("sms_opt_in")


def downgrade() -> None:
    with op.batch_alter_table("family_contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sms_opt_in", sa.String(length=20), nullable=False, server_default="opted_in"))
        batch_op.add_column(sa.Column("unreachable_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("unreachable_code", sa.Integer(), nullable=True))
    _run(
        "UPDATE family_contact SET sms_opt_in = 'opted_out'"
        " WHERE phone IN (SELECT phone FROM sms_recipient WHERE opted_out_at IS NOT NULL)"
    )
    _run(
        "UPDATE family_contact SET"
        " unreachable_at = (SELECT r.unreachable_at FROM sms_recipient r WHERE r.phone = family_contact.phone),"
        " unreachable_code = (SELECT r.unreachable_code FROM sms_recipient r WHERE r.phone = family_contact.phone)"
    )
