"""Engine, session and column types shared by every table."""

from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, SQLModel

from carecommon.sqltypes import NAMING_CONVENTION, UTCDateTime

__all__ = [
    "NAMING_CONVENTION",
    "ArrayLiteral",
    "PerDialect",
    "UTCDateTime",
    "among",
    "among_parameter",
    "array_literal",
    "make_engine",
    "rows_that_keep",
]


def make_engine(database_url: str, *, sqlite_write_lock: bool = True, **kwargs: Any) -> sa.Engine:
    """An engine for the URL; SQLite gets WAL, full sync, foreign keys and a busy timeout.

    On SQLite every transaction takes the write lock when it begins (`sqlite_write_lock`), so a
    read-then-write transaction (is an alert open? then add one) never interleaves with another
    writer. `sqlite_write_lock=False` keeps the driver's own behaviour (reads outside
    transactions), for tools that look at the database while the app writes, such as the tests.
    """
    if not database_url.startswith("sqlite"):
        return sa.create_engine(database_url, pool_pre_ping=True, **kwargs)
    engine = sa.create_engine(database_url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    if sqlite_write_lock:  # SQLAlchemy's pysqlite recipe: we begin transactions, not the driver
        sa.event.listen(engine, "connect", _driver_leaves_transactions_to_us)
        sa.event.listen(engine, "begin", _begin_immediate)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before we answer 2xx, even across a power cut.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _driver_leaves_transactions_to_us(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def among(session: Session, column: Any, values: Collection[Any]) -> sa.ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(:array)`, one parameter however many values.

    psycopg parses every statement's text for its placeholders and caches only short ones, so
    a thousand-value IN list costs more to send than the query costs to run.
    """
    if session.get_bind().dialect.name == "postgresql":
        array = ARRAY(column.type)
        return column == sa.any_(sa.cast(sa.bindparam(None, list(values), type_=ArrayLiteral()), array))  # type: ignore[no-any-return]
    return column.in_(list(values))  # type: ignore[no-any-return]


def among_parameter(column: Any, name: str, dialect: str) -> sa.ColumnElement[bool]:
    """`among` for a statement built once and run many times, its values given at execution as
    parameter `name`: SQLAlchemy computes a statement's cache key by walking the whole statement,
    once per statement object, which for a query run per group of frames costs more than its SQL."""
    if dialect == "postgresql":
        array = ARRAY(column.type)
        return column == sa.any_(sa.cast(sa.bindparam(name, type_=ArrayLiteral()), array))  # type: ignore[no-any-return]
    return column.in_(sa.bindparam(name, expanding=True))  # type: ignore[no-any-return]


def array_literal(values: Iterable[Any]) -> str:
    """PostgreSQL: values as one array literal (`{1,2,"a \\"b\\""}`), for a parameter the
    statement casts to the array's type. psycopg dumps a list element by element in Python (about
    1 µs an element, 5 a datetime: 5 ms for the last-seen times of 900 devices); the server reads
    the literal in C. Text is quoted and escaped as the array syntax says (PostgreSQL manual,
    8.15.6 "Array Input and Output Syntax"); None is NULL."""
    return "{" + ",".join(map(_element, values)) + "}"


def _element(value: Any) -> str:
    kind = type(value)  # exact types first: this runs for every value of a batch
    if kind is int or kind is float:
        return repr(value)  # repr: a float's every digit
    if value is None:
        return "NULL"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if '"' in text or "\\" in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text + '"'


class ArrayLiteral(sa.types.UserDefinedType[list[Any]]):
    """A list parameter sent as `array_literal` text, for the statement to cast to the array type.

    Untyped on purpose: psycopg sends a str as "unknown", so `CAST($1 AS INTEGER[])` makes the
    parameter itself an INTEGER[], read once. A typed one (`$1::VARCHAR`) would make the cast a
    text conversion that a generic plan's sequential scan runs again for every row."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "TEXT"  # never a column's type

    def bind_processor(self, dialect: sa.Dialect) -> Callable[[list[Any] | None], str | None]:
        return lambda value: None if value is None else array_literal(value)


S = TypeVar("S")


class PerDialect(Generic[S]):
    """A statement built once per dialect and reused (its values as parameters: `among_parameter`),
    so that SQLAlchemy computes its cache key once rather than on every run."""

    def __init__(self, build: Callable[[str], S]) -> None:
        self._build: Callable[[str], S] = build
        self._built: dict[str, S] = {}

    def __call__(self, session: Session) -> S:
        dialect = session.get_bind().dialect.name
        if dialect not in self._built:
            self._built[dialect] = self._build(dialect)
        return self._built[dialect]


def rows_that_keep(session: Session, table: str, key: int, *, cap: int = 1000) -> dict[str, int]:
    """Per table, how many rows (up to `cap`) name row `key` of `table` by a foreign key that stops
    its deletion. Rows whose foreign key says ON DELETE CASCADE (or SET NULL) are the database's to
    handle, so a delete is refused or done by what the schema says, not by a service's list.
    Reads the tables every model module declared (`carecenter.tables` imports them all)."""
    found: dict[str, int] = {}
    for other in SQLModel.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table.name != table or (fk.ondelete or "").upper() in ("CASCADE", "SET NULL"):
                continue
            some = sa.select(sa.literal(1)).where(fk.parent == key).limit(cap).subquery()
            count = session.execute(sa.select(sa.func.count()).select_from(some)).scalar_one()
            if count:
                found[other.name] = found.get(other.name, 0) + count
    return found
