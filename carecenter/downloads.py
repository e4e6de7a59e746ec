"""Files the product hands out (CSV, XLSX, media, QR pictures): what every one of them needs.

A CSV cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to a
spreadsheet program (OWASP "CSV injection"): a resident's name or a reason typed by a care worker
must never run as one, so such text is written with a leading apostrophe. Numbers stay numbers.
"""

import csv
import io
from collections.abc import Iterable
from typing import Any

import segno

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NO_STORE = "private, no-store"  # personal data: no shared or browser cache keeps a copy


def csv_cell(value: Any) -> Any:
    """The value as a CSV cell a spreadsheet shows as text, never runs."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class SafeCsvWriter:
    """`csv.writer` whose cells are passed through `csv_cell`: the one way the product writes CSV."""

    def __init__(self, out: Any) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def attachment(name: str) -> dict[str, str]:
    """The headers of a download of personal data."""
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": NO_STORE}


def qr_svg(text: str, *, title: str, scale: int, border: int = 4) -> str:
    """A QR code as SVG to put inline in a page (error correction M: a printed card gets scuffed)."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=scale, border=border, title=title, xmldecl=False)
    return out.getvalue().decode()
