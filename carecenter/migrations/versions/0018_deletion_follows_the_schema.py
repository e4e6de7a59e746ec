"""Deletion follows the schema: a center's own settings, a resident's family contacts and links, a
device's commands and a shift's staff go with their row (ON DELETE CASCADE), not by a service's hand

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 10:30:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referred table): each foreign key to `referred.id` whose rows go with their row.
CASCADES = [
    ("service_offering", "center_id", "center"),
    ("subsidy_rule", "center_id", "center"),
    ("month_close", "center_id", "center"),
    ("escalation_policy", "center_id", "center"),
    ("duty_shift", "center_id", "center"),
    ("duty_shift_staff", "shift_id", "duty_shift"),
    ("family_contact", "resident_id", "resident"),
    ("family_link", "resident_id", "resident"),
    ("family_link", "contact_id", "family_contact"),
    ("device_command", "device_id", "device"),
]


def upgrade() -> None:
    _set_rule("CASCADE")


def downgrade() -> None:
    _set_rule(None)


def _set_rule(rule: str | None) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_set_rule(bind, rule)
        return
    inspector = sa.inspect(bind)
    for table, column, referred in CASCADES:
        (name,) = [fk["name"] for fk in inspector.get_foreign_keys(table) if fk["constrained_columns"] == [column]]
        op.drop_constraint(name, table, type_="foreignkey")
        op.create_foreign_key(name, table, referred, [column], ["id"], ondelete=rule)


def _sqlite_set_rule(bind: sa.Connection, rule: str | None) -> None:
    """SQLite cannot alter a constraint, and rebuilding a table would delete (and cascade from) its
    rows: its own documented way for a change that leaves the stored rows as they are is to edit
    the table's CREATE statement (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds
    Of Table Schema Changes")."""
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    for table, column, referred in CASCADES:
        sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)).scalar_one()
        clause = re.compile(
            rf'(FOREIGN KEY\s*\(\s*"?{column}"?\s*\)\s*REFERENCES\s*"?{referred}"?\s*\(\s*"?id"?\s*\))'
            r"(\s+ON DELETE (?:CASCADE|SET NULL|SET DEFAULT|RESTRICT|NO ACTION))?"
        )
        new, found = clause.subn(lambda m: m.group(1) + (f" ON DELETE {rule}" if rule else ""), sql)
        if found != 1:
            raise RuntimeError(f"{table}.{column}: expected one foreign key to {referred} in {sql!r}")
        bind.exec_driver_sql("UPDATE sqlite_master SET sql=? WHERE type='table' AND name=?", (new, table))
    bind.exec_driver_sql(f"PRAGMA schema_version={version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"the schema edit left the database inconsistent: {problems}")
