"""Phone calls in the outbox (a channel per row, the key a called person pressed); the nearest responder on alerts;
how to get into a resident's home; family links, consent to share with family, visit notes shared

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carecommon.sqltypes

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
    if op.get_bind().dialect.name == "sqlite":  # SQLite adds a foreign key only with the column itself
        op.execute("ALTER TABLE alert ADD COLUMN nearest_staff_id INTEGER REFERENCES staff (id)")
    else:
        op.add_column("alert", sa.Column("nearest_staff_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_alert_nearest_staff_id_staff"), "alert", "staff", ["nearest_staff_id"], ["id"])
    op.add_column("alert", sa.Column("nearest_distance_m", sa.Integer(), nullable=True))
    op.add_column(
        "resident",
        sa.Column("access_notes", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False, server_default=""),
    )

    op.add_column(
        "resident", sa.Column("consent_family_sharing", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "visit", sa.Column("share_notes_with_family", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_table(
        "family_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("center_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_viewed_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["center_id"], ["center.id"], name=op.f("fk_family_link_center_id_center")),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["family_contact.id"], name=op.f("fk_family_link_contact_id_family_contact")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], name=op.f("fk_family_link_created_by_staff")),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"], name=op.f("fk_family_link_resident_id_resident")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_link")),
    )
    op.create_index(op.f("ix_family_link_contact_id"), "family_link", ["contact_id"], unique=False)
    op.create_index(op.f("ix_family_link_resident_id"), "family_link", ["resident_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_family_link_resident_id"), table_name="family_link")
    op.drop_index(op.f("ix_family_link_contact_id"), table_name="family_link")
    op.drop_table("family_link")
    op.drop_column("visit", "share_notes_with_family")
    op.drop_column("resident", "consent_family_sharing")
    op.drop_column("resident", "access_notes")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("fk_alert_nearest_staff_id_staff"), "alert", type_="foreignkey")
    op.drop_column("alert", "nearest_distance_m")
    op.drop_column("alert", "nearest_staff_id")
    op.drop_column("sms_message", "digits")
    op.drop_column("sms_message", "channel")
