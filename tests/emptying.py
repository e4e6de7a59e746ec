"""Emptying the test database between tests (and before the demo is copied in)."""

import sqlalchemy as sa

from carecenter.tables import metadata


def empty_database(engine: sa.Engine) -> None:
    """Every table's rows deleted, children first."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Children go first anyway; checking each deleted row's references (self-references
            # and unindexed ones scan a table per row) made emptying a seeded demo take ~40 s.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()  # the pragma holds outside a transaction only
        try:
            with conn.begin():
                if not sqlite:  # the same on PostgreSQL: no reference triggers (5 s after a demo, now <1)
                    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                for table in reversed(metadata.sorted_tables):
                    conn.execute(table.delete())
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
