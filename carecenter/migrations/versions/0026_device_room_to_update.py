"""Device rows leave room on their pages (PostgreSQL, fillfactor 50): the devices' last sign of life,
written for every watch about once a second under load, updates its row in place

A row updated where its page has room keeps its indexes as they are (a heap-only tuple); on a full
page the new version goes to another page, with a new entry in each of the table's six indexes.
With full pages two updates in three took that path (4.5 µs of PostgreSQL per reading at 1,000
readings a batch; 2-3 µs with room). Only pages written from now on leave the room; the table is
not rewritten (a `VACUUM FULL device` in a quiet hour would do it for the existing rows). SQLite
has no such setting.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE device SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE device RESET (fillfactor)")
