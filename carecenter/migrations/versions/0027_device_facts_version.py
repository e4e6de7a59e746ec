"""A number that moves whenever a device's facts change (`device_facts_version`), so that processes
can keep the devices readings are for (`carecenter/ingest/targets.py`) and know when to read them again

One row; a trigger on `device` adds one to it for every statement that inserts, deletes or
truncates devices or updates their serial, center, resident, kind, revocation or key. On
PostgreSQL the trigger runs before the statement changes any device row, so two transactions that
change devices wait for each other at the number before either holds a device row (no deadlock
between them); the devices' last sign of life and connection bookkeeping are other columns and
leave it alone. SQLite has row triggers only: one per kind of change, each after the row.

The number starts at the moment of creation in microseconds: a database created again starts
above anything a process could remember of the one before.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 23:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACTS = "serial, center_id, resident_id, kind, revoked_at, key_hash"
BUMP = "UPDATE device_facts_version SET version = version + 1"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TABLE device_facts_version (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL)")
        op.execute(
            "INSERT INTO device_facts_version VALUES (1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)"
        )
        op.execute(
            "CREATE FUNCTION device_facts_changed() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER device_facts_changed BEFORE INSERT OR DELETE OR UPDATE OF {FACTS} ON device "
            "FOR EACH STATEMENT EXECUTE FUNCTION device_facts_changed()"
        )
        op.execute(
            "CREATE TRIGGER device_facts_truncated BEFORE TRUNCATE ON device "
            "FOR EACH STATEMENT EXECUTE FUNCTION device_facts_changed()"
        )
        return
    op.execute("CREATE TABLE device_facts_version (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)")
    op.execute(
        "INSERT INTO device_facts_version VALUES (1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))"
    )
    for name, event in (("inserted", "INSERT"), ("deleted", "DELETE"), ("changed", f"UPDATE OF {FACTS}")):
        op.execute(f"CREATE TRIGGER device_facts_{name} AFTER {event} ON device BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER device_facts_truncated ON device")
        op.execute("DROP TRIGGER device_facts_changed ON device")
        op.execute("DROP FUNCTION device_facts_changed()")
    else:
        for name in ("inserted", "deleted", "changed"):
            op.execute(f"DROP TRIGGER device_facts_{name}")
    op.execute("DROP TABLE device_facts_version")
