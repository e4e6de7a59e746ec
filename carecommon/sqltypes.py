"""Column types, the constraint naming convention and the upsert INSERT shared by every table.

They live in the lowest layer so that both `notifications` and `carecenter` tables use them
without `notifications` importing from `carecenter`.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, TypeAdapter
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlmodel import SQLModel

# Constraint names Alembic can find again on every backend (SQLite batch mode needs them).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


@cache
def _list_of(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


class JSONList(sa.types.TypeDecorator[list[Any]]):
    """A JSON column holding a list of one model: written from the models (or dicts, validated
    first), read back as the models, so code reads `task.service`, never `task["service"]`."""

    impl = sa.JSON
    cache_ok = True

    def __init__(self, model: type[BaseModel]) -> None:
        super().__init__()
        self.model = model

    def process_bind_param(self, value: list[Any] | None, dialect: Dialect) -> list[Any] | None:
        if value is None:
            return None
        adapter = _list_of(self.model)
        return adapter.dump_python(adapter.validate_python(value), mode="json")  # type: ignore[no-any-return]

    def process_result_value(self, value: list[Any] | None, dialect: Dialect) -> list[Any]:
        return [] if value is None else _list_of(self.model).validate_python(value)


def no_items() -> list[Any]:
    """The `default_factory` of a list column. Pydantic inspects the factory's signature for every
    new row, and inspecting the builtin `list` takes ~60 µs against ~5 for a function: 0.7 s of
    the demo's 4,000 visits with three lists each."""
    return []


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An instant stored as UTC; always returned timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is stored; attach a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def upsert_insert(dialect: Dialect) -> Callable[[Any], postgresql.Insert | sqlite.Insert]:
    """The INSERT that knows ON CONFLICT on this database (PostgreSQL, or SQLite everywhere else)."""
    return postgresql.insert if dialect.name == "postgresql" else sqlite.insert


def unnested_insert(table: sa.Table, columns: Sequence[str]) -> postgresql.Insert:
    """PostgreSQL's INSERT … SELECT FROM unnest(…): the rows as one array a column, bound by the
    column's name. However many rows, the statement's text is the same and holds one parameter a
    column: psycopg parses a statement's text for its placeholders on every run and caches only
    short ones, and a multi-row VALUES list of a few dozen rows costs more to parse than to run."""
    arrays = [sa.bindparam(name, type_=postgresql.ARRAY(table.c[name].type)) for name in columns]
    rows = sa.func.unnest(*arrays).table_valued(*columns).render_derived()
    return postgresql.insert(table).from_select(list(columns), sa.select(*(rows.c[name] for name in columns)))


class RowsInsert:
    """An INSERT … RETURNING of any number of plain rows (every column but the key), built once per
    database, as each runs it fastest: on PostgreSQL one array a column (`unnested_insert`),
    elsewhere the rows (one alone as a plain execute: SQLAlchemy's many-rows path costs more than
    it saves for one). `skip_on_conflict`: the unique columns whose clash leaves the row out."""

    def __init__(self, table: sa.Table, *, returning: Sequence[str], skip_on_conflict: Sequence[str] = ()) -> None:
        self.table, self.returning, self.skip_on_conflict = table, returning, skip_on_conflict
        self.columns = [c.name for c in table.c if not c.primary_key]
        self._built: dict[str, Any] = {}  # a statement that holds its values costs more to build than to run

    def execute(
        self, connection: sa.Connection, rows: Sequence[Mapping[str, Any]]
    ) -> sa.CursorResult[*tuple[Any, ...]]:
        postgres = connection.dialect.name == "postgresql"
        stmt = self._built.get(connection.dialect.name)
        if stmt is None:
            insert = (
                unnested_insert(self.table, self.columns) if postgres else upsert_insert(connection.dialect)(self.table)
            )
            if self.skip_on_conflict:
                insert = insert.on_conflict_do_nothing(index_elements=list(self.skip_on_conflict))
            stmt = insert.returning(*(self.table.c[name] for name in self.returning))
            self._built[connection.dialect.name] = stmt
        if postgres:
            return connection.execute(stmt, {name: [row[name] for row in rows] for name in self.columns})
        return connection.execute(stmt, rows[0] if len(rows) == 1 else list(rows))
