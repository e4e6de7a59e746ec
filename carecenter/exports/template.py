"""An export template: a receiver's layout as data. Columns say where each value comes from (a
field of the template's rows, `sources.FIELDS`), how it is written, and what the receiver requires
of it (required, exact or greatest length, a pattern, a code list); `checks` name the rules a
row must meet beyond its columns. A province's layout is a new file, not code."""

import re
from enum import StrEnum
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from carecenter.assessments.definition import Words
from carecenter.catalogue.models import ServiceCategory
from carecenter.exports.sources import FIELDS, Check, Rows

SHIPPED = Path(__file__).parent / "templates"


class Format(StrEnum):
    text = "text"
    date = "date"  # 2026-11-05
    yyyymmdd = "yyyymmdd"  # 20261105
    datetime = "datetime"  # 2026-11-05 09:30:00, the center's local time
    yuan = "yuan"  # an amount in fen written in yuan, two decimals
    decimal2 = "decimal2"
    integer = "integer"


class Column(BaseModel):
    name: str = Field(min_length=1, max_length=60, description="The header the receiver expects")
    value: str = Field(description="The field of the template's rows it is filled from")
    format: Format = Format.text
    required: bool = False
    length: int | None = Field(default=None, ge=1, description="Exactly this many characters")
    max_length: int | None = Field(default=None, ge=1)
    pattern: str | None = None
    codes: dict[str, str] | None = Field(default=None, description="Our value -> the receiver's code")

    @model_validator(mode="after")
    def _pattern_compiles(self) -> "Column":
        if self.pattern is not None:
            re.compile(self.pattern)
        return self


class Template(BaseModel):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")
    version: str = Field(max_length=20)
    title: Words
    receiver: Words
    source: str = Field(description="What the layout follows, and what of it could not be checked")
    rows: Rows
    columns: list[Column] = Field(min_length=1)
    checks: list[Check] = []
    categories: list[ServiceCategory] | None = Field(
        default=None, description="The service categories the receiver pays for (claims); none: every one"
    )
    sheet: str = Field(default="Sheet1", max_length=31, description="The XLSX sheet's name")

    @model_validator(mode="after")
    def _fields_exist(self) -> "Template":
        unknown = [c.value for c in self.columns if c.value not in FIELDS[self.rows]]
        if unknown:
            raise ValueError(f"{self.code}: no field {', '.join(unknown)} in {self.rows} rows")
        return self


def read_template(path: Path) -> Template:
    return Template.model_validate_json(path.read_text(encoding="utf-8"))


@cache
def templates(extra_dir: str | None = None) -> dict[str, Template]:
    """The shipped templates and a center's own (CARECENTER_EXPORT_TEMPLATE_DIR; same code: theirs)."""
    found: dict[str, Template] = {}
    for folder in [SHIPPED] + ([Path(extra_dir)] if extra_dir else []):
        for path in sorted(folder.glob("*.json")):
            template = read_template(path)
            found[template.code] = template
    return found
