"""Applying a partial update (PATCH) to a record."""

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
