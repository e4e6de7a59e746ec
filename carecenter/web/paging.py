"""The pager under a list page: which page this is of how many, and links to the neighbours
that keep the list's search."""

from collections.abc import Mapping
from dataclasses import dataclass
from math import ceil
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Query

from carecenter.pagination import Page, PageParams

T = TypeVar("T")


@dataclass(frozen=True)
class Pager:
    number: int
    pages: int
    previous: str | None  # the query string of the page before, if any
    next: str | None


def pager(page: Page[Any], number: int, keep: Mapping[str, str | None]) -> Pager:
    pages = max(1, ceil(page.total / page.limit)) if page.limit else 1
    kept = {name: value for name, value in keep.items() if value}

    def link(to: int) -> str:
        return "?" + urlencode(kept | ({"page": str(to)} if to > 1 else {}))

    return Pager(number, pages, link(number - 1) if number > 1 else None, link(number + 1) if number < pages else None)


PageNumber = Annotated[int, Query(alias="page", ge=1, le=100_000, description="1 for the first page")]


def page_params_of(number: int, size: int) -> PageParams:
    return PageParams(limit=size, offset=(number - 1) * size)


def page_of_list(items: list[T], number: int, size: int) -> Page[T]:
    """One page of a list already read whole (a month's records)."""
    start = (number - 1) * size
    return Page(items=items[start : start + size], total=len(items), limit=size, offset=start)
