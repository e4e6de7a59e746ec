"""Applying a partial update (PATCH) to a record."""

from collections.abc import Callable
from typing import Any

from sqlmodel import SQLModel

from carecenter.errors import InvalidField


def changes_for(record: SQLModel, data: SQLModel) -> dict[str, Any]:
    """The fields the client actually sent; an explicit null on a required column is refused."""
    changes = data.model_dump(exclude_unset=True)
    columns = type(record).__table__.c  # type: ignore[attr-defined]
    for name, value in changes.items():
        if value is None and name in columns and not columns[name].nullable:
            raise InvalidField(["body", name], "may not be empty (null); leave the field out to keep it")
    return changes


def no_null_for_required_columns(table: str) -> Callable[[dict[str, Any], type[Any]], None]:
    """An XUpdate model's `json_schema_extra`: a field whose column is NOT NULL may be left out of a
    PATCH but not sent as null, and the schema says so (changes_for refuses it)."""

    def extra(schema: dict[str, Any], _model: type[Any]) -> None:
        columns = SQLModel.metadata.tables[table].c
        for name, field in schema.get("properties", {}).items():
            if name in columns and not columns[name].nullable and "anyOf" in field:
                kept = [option for option in field.pop("anyOf") if option.get("type") != "null"]
                field.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
                if field.get("default", 0) is None:
                    del field["default"]

    return extra
