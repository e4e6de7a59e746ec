"""Assessment forms as data: a versioned definition (domains, items, options and their scores,
levels, special rules) read from JSON files shipped with the product or named by a setting.

A province's variant is another file with its own code; an assessment keeps the code and
version it was scored with, so a form can change without rewriting history.
"""

from functools import cache
from pathlib import Path
from typing import Self

from pydantic import BaseModel, Field, model_validator

from carecenter.residents.models import CareLevel
from carecommon.i18n import language_of

SHIPPED = Path(__file__).parent / "definitions"
DEFAULT_DEFINITION = "gbt-42195-2022"


class Words(BaseModel):
    """One text in both languages."""

    zh: str = Field(alias="zh-CN")
    en: str

    def in_(self, language: str) -> str:
        return self.zh if language_of(language) == "zh-CN" else self.en


class Option(BaseModel):
    code: str
    score: int = Field(ge=0)
    label: Words


class Item(BaseModel):
    code: str
    name: Words
    hint: Words | None = None
    options: list[Option]

    @property
    def max_score(self) -> int:
        return max(o.score for o in self.options)

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)


class Domain(BaseModel):
    code: str
    name: Words
    items: list[Item]

    @property
    def max_score(self) -> int:
        return sum(i.max_score for i in self.items)


class Level(BaseModel):
    code: str
    name: Words
    min: int
    max: int
    suggested_categories: list[str] = []
    care_level: CareLevel | None = None  # the resident's care level this level sets when signed


class Named(BaseModel):
    code: str
    name: Words


class Condition(BaseModel):
    item: str | None = None
    options: list[str] = []
    flag: str | None = None
    risk_events_at_least: int | None = None


class Effect(BaseModel):
    level: str | None = None  # straight to this level
    raise_: int = Field(default=0, alias="raise")  # this many levels worse


class Rule(BaseModel):
    code: str
    name: Words
    when: Condition
    then: Effect


class Definition(BaseModel):
    code: str
    version: str
    title: Words
    source: str
    total_max: int
    domains: list[Domain]
    levels: list[Level] = Field(description="Best first")
    flags: list[Named] = []
    risk_events: list[Named] = []
    rules: list[Rule] = []
    raise_at_most: int = 1

    @model_validator(mode="before")
    @classmethod
    def _option_sets(cls, data: dict[str, object]) -> dict[str, object]:
        """Items may name a shared option set ("assistance") instead of listing the options."""
        sets = data.pop("option_sets", {}) if isinstance(data, dict) else {}
        for domain in data.get("domains", []):  # type: ignore[attr-defined]
            for item in domain.get("items", []):
                if isinstance(item.get("options"), str):
                    item["options"] = sets[item["options"]]  # type: ignore[index]
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if sum(d.max_score for d in self.domains) != self.total_max:
            raise ValueError(f"{self.code}: the items' best scores do not add up to {self.total_max}")
        covered = sorted(s for level in self.levels for s in range(level.min, level.max + 1))
        if covered != list(range(self.total_max + 1)):
            raise ValueError(f"{self.code}: the levels must cover 0..{self.total_max} once each")
        items = {i.code for i in self.items()}
        levels = {level.code for level in self.levels}
        for rule in self.rules:
            if rule.when.item is not None and rule.when.item not in items:
                raise ValueError(f"{self.code}: rule {rule.code} names no item {rule.when.item}")
            if rule.then.level is not None and rule.then.level not in levels:
                raise ValueError(f"{self.code}: rule {rule.code} names no level {rule.then.level}")
        return self

    def items(self) -> list[Item]:
        return [item for domain in self.domains for item in domain.items]

    def item(self, code: str) -> Item | None:
        return next((i for i in self.items() if i.code == code), None)

    def level(self, code: str) -> Level | None:
        return next((level for level in self.levels if level.code == code), None)


def read_definition(path: Path) -> Definition:
    return Definition.model_validate_json(path.read_text(encoding="utf-8"))


@cache
def definitions(extra_dir: str | None = None) -> dict[str, Definition]:
    """The shipped forms and those in `extra_dir` (CARECENTER_ASSESSMENT_DIR), by code; read once."""
    folders = [SHIPPED] + ([Path(extra_dir)] if extra_dir else [])
    found: dict[str, Definition] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            definition = read_definition(path)
            found[definition.code] = definition
    return found
