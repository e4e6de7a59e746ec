"""sms outbox, recipients, response links; contact reachability

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:03:16.061471
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carecommon.sqltypes

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "response_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("recipient_ref", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("created_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_link")),
    )
    with op.batch_alter_table("response_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_response_link_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "sms_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("to_phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=1600), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("center_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("recipient_ref", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("hold_reason", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_expires_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("provider_sid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_message", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_message")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_sms_message_dedupe_key")),
    )
    with op.batch_alter_table("sms_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_message_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sms_message_center_id"), ["center_id"], unique=False)
        batch_op.create_index("ix_sms_message_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sms_message_provider_sid"), ["provider_sid"], unique=False)
        batch_op.create_index(batch_op.f("ix_sms_message_to_phone"), ["to_phone"], unique=False)

    op.create_table(
        "sms_recipient",
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("opted_out_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unreachable_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unreachable_code", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_sms_recipient")),
    )
    op.create_table(
        "response_link_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("answered_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["response_link.id"], name=op.f("fk_response_link_answer_link_id_response_link")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_link_answer")),
    )
    with op.batch_alter_table("response_link_answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_response_link_answer_link_id"), ["link_id"], unique=False)

    with op.batch_alter_table("family_contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unreachable_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("unreachable_code", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("family_contact", schema=None) as batch_op:
        batch_op.drop_column("unreachable_code")
        batch_op.drop_column("unreachable_at")

    with op.batch_alter_table("response_link_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_response_link_answer_link_id"))

    op.drop_table("response_link_answer")
    op.drop_table("sms_recipient")
    with op.batch_alter_table("sms_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_message_to_phone"))
        batch_op.drop_index(batch_op.f("ix_sms_message_provider_sid"))
        batch_op.drop_index("ix_sms_message_due")
        batch_op.drop_index(batch_op.f("ix_sms_message_center_id"))
        batch_op.drop_index(batch_op.f("ix_sms_message_alert_id"))

    op.drop_table("sms_message")
    with op.batch_alter_table("response_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_response_link_alert_id"))

    op.drop_table("response_link")
