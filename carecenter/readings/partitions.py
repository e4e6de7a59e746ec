"""The monthly partitions of `reading` on PostgreSQL: made ahead of time, dropped whole when old.

The table is partitioned by range of `recorded_at` (migration 0011): one partition per UTC month
(`reading_p2027_01`), `reading_default` for anything no month partition takes (so a reading is
never refused for want of a partition), and, on a database converted in place,
`reading_legacy` holding everything recorded before the conversion. A month partition is made
as a plain table, filled with whatever the default partition holds for its month, then
attached: the attach needs no long lock and works whether or not the default caught rows.
On SQLite none of this applies (`is_partitioned` is false).
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

PARENT = "reading"
DEFAULT = "reading_default"
LEGACY = "reading_legacy"  # migration 0011's name for a converted table
_BOUNDS = re.compile(r"FROM \((?:MINVALUE|'([^']+)')\) TO \((?:MAXVALUE|'([^']+)')\)")


@dataclass(frozen=True)
class Partition:
    name: str
    start: datetime | None  # None: from the beginning of time (the legacy table)
    end: datetime | None  # None: the default partition


def month_start(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def partition_name(start: datetime) -> str:
    return f"{PARENT}_p{start.year:04d}_{start.month:02d}"


def is_partition(table: str) -> bool:
    """A month partition, the default one, or the legacy one of a converted database."""
    return table in (DEFAULT, LEGACY) or re.fullmatch(rf"{PARENT}_p\d{{4}}_\d{{2}}", table) is not None


def is_partitioned(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.execute(sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:name)"), {"name": PARENT})
    return kind.scalar() == "p"


def partitions(connection: Connection) -> list[Partition]:
    """The partitions of `reading` with their bounds, oldest first (the default partition last)."""
    rows = connection.execute(
        sa.text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(:name)"
        ),
        {"name": PARENT},
    ).all()
    found = []
    for name, bound in rows:
        match = _BOUNDS.search(bound)
        if match is None:  # DEFAULT
            found.append(Partition(name, None, None))
            continue
        start, end = (datetime.fromisoformat(v).astimezone(UTC) if v else None for v in match.groups())
        found.append(Partition(name, start, end))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(found, key=lambda p: (p.end or far, p.start or datetime.min.replace(tzinfo=UTC)))


def create_ahead(connection: Connection, now: datetime, months: int = 3) -> list[str]:
    """Make this month's partition and the next `months`' that are missing; their names."""
    return ensure_months(connection, month_start(now), months + 1)


def ensure_months(connection: Connection, first: datetime, months: int) -> list[str]:
    """Partitions for `months` months from `first`, where no partition covers them yet; their names."""
    existing = [p for p in partitions(connection) if p.end is not None]
    made = []
    start = month_start(first)
    for _ in range(months):
        end = next_month(start)
        if not any((p.start is None or p.start < end) and start < p.end for p in existing if p.end):
            _attach_month(connection, start, end)
            made.append(partition_name(start))
        start = end
    return made


def _attach_month(connection: Connection, start: datetime, end: datetime) -> None:
    name = partition_name(start)  # made from a date, never from input
    bounds = {"start": start, "end": end}
    connection.exec_driver_sql(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    connection.execute(
        sa.text(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE recorded_at >= :start AND recorded_at < :end RETURNING *) "  # noqa: S608
            f"INSERT INTO {name} SELECT * FROM moved"
        ),
        bounds,
    )
    literal = f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    connection.exec_driver_sql(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} {literal}")


def drop_older_than(connection: Connection, cutoff: datetime) -> list[str]:
    """Drop every partition that holds only readings recorded before `cutoff`; their names."""
    dropped = []
    for partition in partitions(connection):
        if partition.end is not None and partition.end <= cutoff:
            connection.exec_driver_sql(f'DROP TABLE "{partition.name}"')  # a name from the catalog
            dropped.append(partition.name)
    return dropped
