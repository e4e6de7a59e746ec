"""Readings that do not grow without end: idempotency keys in their own table, hourly roll-ups,
alerts keeping copies of their readings, and (PostgreSQL) `reading` partitioned by month; an
index for the silent-device sweep's "already alerted" probe

On PostgreSQL the table is converted in place, without copying it: the existing table becomes
the partition `reading_legacy` for everything recorded before the first day of next month,
attached under a new partitioned `reading` (a validated CHECK constraint spares the attach its
scan), with monthly partitions after it and a default partition (an empty table, as on a new
database, is simply replaced: months from this one, no legacy partition). The long steps (the keys of
the last 8 days, the roll-ups of the whole history, validating the range) only read the table;
the swap at the end is metadata. The partitioned table has no primary key in the database:
ids still come from the same sequence, a partitioned table's unique index must include the
partition key, and nothing looks a reading up by id. `(device, event_id)` is unique through
`reading_key` instead (a partitioned unique index would have to include `recorded_at`).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 08:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carecommon.sqltypes

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VITALS = ("heart_rate", "spo2", "systolic", "diastolic", "temperature", "blood_glucose")
KEY_WINDOW = timedelta(days=8)  # the acceptance window (7 days) and a day's margin
MONTHS_AHEAD = 3


def _month_start(at: datetime) -> datetime:
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def upgrade() -> None:
    op.create_table(
        "reading_key",
        sa.Column("device_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("recorded_at", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "event_id", name=op.f("pk_reading_key")),
    )
    op.create_index(op.f("ix_reading_key_recorded_at"), "reading_key", ["recorded_at"], unique=False)
    op.create_table(
        "reading_hourly",
        sa.Column("resident_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("vital", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("hour", carecommon.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("minimum", sa.Float(), nullable=False),
        sa.Column("maximum", sa.Float(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"], name=op.f("fk_reading_hourly_resident_id_resident")),
        sa.PrimaryKeyConstraint("resident_id", "vital", "hour", name=op.f("pk_reading_hourly")),
    )
    op.add_column("alert", sa.Column("first_reading", sa.JSON(), nullable=True))
    op.add_column("alert", sa.Column("last_reading", sa.JSON(), nullable=True))
    op.create_index("ix_alert_resident_kind_opened", "alert", ["resident_id", "kind", "opened_at"], unique=False)

    postgresql = op.get_bind().dialect.name == "postgresql"
    now = datetime.now(UTC)
    op.get_bind().execute(
        sa.text(
            "INSERT INTO reading_key (device_id, event_id, recorded_at) "
            "SELECT device_id, event_id, recorded_at FROM reading "
            "WHERE device_id IS NOT NULL AND recorded_at >= :since ON CONFLICT DO NOTHING"
        ).bindparams(sa.bindparam("since", type_=carecommon.sqltypes.UTCDateTime)),
        {"since": now - KEY_WINDOW},
    )
    hour = (
        "date_trunc('hour', recorded_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        if postgresql
        else "strftime('%Y-%m-%d %H:00:00.000000', recorded_at)"  # how SQLAlchemy stores a DateTime there
    )
    for vital in VITALS:  # names from the list above
        op.execute(
            "INSERT INTO reading_hourly (resident_id, vital, hour, minimum, maximum, total, samples) "  # noqa: S608
            f"SELECT resident_id, '{vital}', {hour}, min({vital}), max({vital}), sum({vital}), count({vital}) "
            f"FROM reading WHERE resident_id IS NOT NULL AND {vital} IS NOT NULL GROUP BY resident_id, {hour}"
        )
    # A reading's device and center are what the check-in writer resolved: their foreign keys cost two
    # lookups and row locks per reading, and served nothing an index did not (deleting a device or
    # a center is refused while it has readings' residents; the resident's key stays, on its index).
    # No query reads readings by center: its index goes too.
    with op.batch_alter_table("reading", schema=None) as batch_op:
        batch_op.drop_constraint("uq_reading_device_id_event_id", type_="unique")
        batch_op.drop_constraint(op.f("fk_reading_device_id_device"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_reading_center_id_center"), type_="foreignkey")
        batch_op.drop_index(op.f("ix_reading_center_id"))
    if postgresql:
        empty = op.get_bind().execute(sa.text("SELECT NOT EXISTS (SELECT 1 FROM reading)")).scalar()
        if empty:  # a new database: no legacy partition, months from this one
            _partition_in_place(_month_start(now), keep_legacy=False)
        else:
            _partition_in_place(_next_month(_month_start(now)), keep_legacy=True)


def _partition_in_place(boundary: datetime, *, keep_legacy: bool) -> None:
    """The existing table becomes the partition of everything before `boundary`, then month partitions."""
    edge = boundary.isoformat()
    op.execute(f"ALTER TABLE reading ADD CONSTRAINT reading_legacy_range CHECK (recorded_at < '{edge}') NOT VALID")
    op.execute("ALTER TABLE reading VALIDATE CONSTRAINT reading_legacy_range")
    op.execute("ALTER TABLE reading RENAME TO reading_legacy")
    for old, new in (
        ("ix_reading_resident_recorded", "reading_legacy_resident_recorded"),
        ("pk_reading", "reading_legacy_pkey"),
    ):
        op.execute(f"ALTER INDEX {old} RENAME TO {new}")
    op.execute("CREATE TABLE reading (LIKE reading_legacy INCLUDING DEFAULTS) PARTITION BY RANGE (recorded_at)")
    op.execute("ALTER SEQUENCE reading_id_seq OWNED BY reading.id")  # or dropping the legacy part drops it
    op.create_foreign_key(op.f("fk_reading_resident_id_resident"), "reading", "resident", ["resident_id"], ["id"])
    op.create_index("ix_reading_resident_recorded", "reading", ["resident_id", "recorded_at"])
    op.execute(f"ALTER TABLE reading ATTACH PARTITION reading_legacy FOR VALUES FROM (MINVALUE) TO ('{edge}')")
    op.execute("ALTER TABLE reading_legacy DROP CONSTRAINT reading_legacy_range")
    op.execute("CREATE TABLE reading_default PARTITION OF reading DEFAULT")
    if not keep_legacy:
        op.execute("DROP TABLE reading_legacy")
    start = boundary
    for _ in range(MONTHS_AHEAD + 1):
        end = _next_month(start)
        op.execute(
            f"CREATE TABLE reading_p{start.year:04d}_{start.month:02d} PARTITION OF reading "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
        start = end


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TABLE reading_plain (LIKE reading INCLUDING DEFAULTS)")
        op.execute("INSERT INTO reading_plain SELECT * FROM reading")
        op.execute("ALTER SEQUENCE reading_id_seq OWNED BY reading_plain.id")
        op.execute("DROP TABLE reading CASCADE")  # and its partitions
        op.execute("ALTER TABLE reading_plain RENAME TO reading")
        op.create_primary_key(op.f("pk_reading"), "reading", ["id"])
        op.create_foreign_key(op.f("fk_reading_resident_id_resident"), "reading", "resident", ["resident_id"], ["id"])
        op.create_index("ix_reading_resident_recorded", "reading", ["resident_id", "recorded_at"])
    with op.batch_alter_table("reading", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_reading_device_id_event_id", ["device_id", "event_id"])
        batch_op.create_foreign_key(op.f("fk_reading_device_id_device"), "device", ["device_id"], ["id"])
        batch_op.create_foreign_key(op.f("fk_reading_center_id_center"), "center", ["center_id"], ["id"])
        batch_op.create_index(op.f("ix_reading_center_id"), ["center_id"], unique=False)
    op.drop_index("ix_alert_resident_kind_opened", table_name="alert")
    op.drop_column("alert", "last_reading")
    op.drop_column("alert", "first_reading")
    op.drop_table("reading_hourly")
    op.drop_index(op.f("ix_reading_key_recorded_at"), table_name="reading_key")
    op.drop_table("reading_key")
