"""Pricing one record under the subsidy rules (pure): shares, caps, groups, categories, dates."""

from dataclasses import dataclass
from datetime import date

from carecenter.subsidies.pricing import Price, amount_of, price

DAY = date(2026, 11, 10)


@dataclass
class Rule:
    id: int
    group: str
    share_percent: int
    category: str | None = None
    monthly_cap_fen: int | None = None
    starts_on: date = date(2026, 1, 1)
    ends_on: date | None = None


def priced(
    rules: list[Rule],
    groups: list[str],
    used: dict[int, int] | None = None,
    quantity: float = 1,
    category: str = "meals",
) -> Price:
    return price(
        unit_price_fen=1200,
        quantity=quantity,
        category=category,
        day=DAY,
        groups=groups,
        rules=rules,
        used_this_month=used or {},
    )


def test_amounts_round_half_up_to_the_fen() -> None:
    assert amount_of(2501, 1.5) == 3752  # 3751.5
    assert amount_of(1200, 0) == 0
    assert amount_of(1200, -1) == -1200


def test_no_group_or_no_rule_means_the_resident_pays_everything() -> None:
    assert priced([Rule(1, "subsistence", 80)], []) == priced([], ["subsistence"])
    result = priced([], ["subsistence"])
    assert (result.amount_fen, result.subsidy_fen, result.resident_fen, result.rule_id) == (1200, 0, 1200, None)


def test_a_share_of_the_price() -> None:
    result = priced([Rule(1, "subsistence", 80)], ["subsistence"])
    assert (result.subsidy_fen, result.resident_fen, result.rule_id, result.group) == (960, 240, 1, "subsistence")


def test_the_monthly_cap_cuts_the_subsidy() -> None:
    rule = Rule(1, "subsistence", 80, monthly_cap_fen=2000)
    assert priced([rule], ["subsistence"], used={1: 1500}).subsidy_fen == 500
    assert priced([rule], ["subsistence"], used={1: 2000}).subsidy_fen == 0
    assert priced([rule], ["subsistence"], used={1: 2000}).resident_fen == 1200


def test_the_rule_that_pays_most_applies() -> None:
    rules = [Rule(1, "advanced_age", 50), Rule(2, "extremely_poor", 100, monthly_cap_fen=500)]
    assert priced(rules, ["advanced_age", "extremely_poor"]).rule_id == 1  # 600 beats a 500 cap
    assert priced(rules, ["advanced_age", "extremely_poor"], quantity=0.5).rule_id == 2  # 600 * 100% capped 500 > 300


def test_a_rule_covers_its_category_or_all() -> None:
    rules = [Rule(1, "disabled", 70, category="bathing"), Rule(2, "disabled", 30)]
    assert priced(rules, ["disabled"], category="bathing").rule_id == 1
    assert priced(rules, ["disabled"], category="meals").rule_id == 2


def test_a_rule_applies_only_within_its_dates() -> None:
    old = Rule(1, "subsistence", 80, ends_on=date(2026, 11, 9))
    new = Rule(2, "subsistence", 60, starts_on=date(2026, 11, 10))
    assert priced([old, new], ["subsistence"]).rule_id == 2
