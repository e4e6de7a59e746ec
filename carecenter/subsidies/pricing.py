"""Pricing one service record (pure): the amount, the subsidy part under the rule that pays the most
of those that apply to one of the resident's groups that day, and the resident's part.

A rule applies when its group is one of the resident's groups on the day, its category is the
service's (or it covers every category) and the day is within its dates. The subsidy is the
rule's share of the amount, cut so that the resident's subsidy under that rule in the month does
not pass the rule's monthly cap. Ties go to the higher share, then the older rule.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol


class RuleTerms(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def group(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def share_percent(self) -> int: ...
    @property
    def monthly_cap_fen(self) -> int | None: ...
    @property
    def starts_on(self) -> date: ...
    @property
    def ends_on(self) -> date | None: ...


@dataclass(frozen=True)
class Price:
    amount_fen: int
    subsidy_fen: int
    resident_fen: int
    rule_id: int | None
    group: str | None


def amount_of(unit_price_fen: int, quantity: float) -> int:
    """Whole fen, half up (a bath and a half at 25.01 yuan is 37.52)."""
    return int(unit_price_fen * quantity + 0.5) if quantity >= 0 else -int(unit_price_fen * -quantity + 0.5)


def in_force(starts_on: date, ends_on: date | None, day: date) -> bool:
    return starts_on <= day and (ends_on is None or day <= ends_on)


def price(
    *,
    unit_price_fen: int,
    quantity: float,
    category: str,
    day: date,
    groups: Iterable[str],
    rules: Iterable[RuleTerms],
    used_this_month: dict[int, int],
) -> Price:
    """`used_this_month`: subsidy already given to this resident this month, by rule id."""
    amount = amount_of(unit_price_fen, quantity)
    held = set(groups)
    candidates = [
        r for r in rules if r.group in held and r.category in (None, category) and in_force(r.starts_on, r.ends_on, day)
    ]
    if amount <= 0 or not candidates:
        return Price(amount, 0, amount, None, None)

    def subsidy_under(rule: RuleTerms) -> int:
        subsidy = amount * rule.share_percent // 100
        if rule.monthly_cap_fen is not None:
            subsidy = min(subsidy, max(rule.monthly_cap_fen - used_this_month.get(rule.id or 0, 0), 0))
        return subsidy

    best = min(candidates, key=lambda r: (-subsidy_under(r), -r.share_percent, r.id or 0))
    subsidy = subsidy_under(best)
    return Price(amount, subsidy, amount - subsidy, best.id, best.group)
