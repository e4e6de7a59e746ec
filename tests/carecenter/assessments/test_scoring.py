"""The national form's scoring against hand-computed cases: every level boundary and each special rule."""

import json
from pathlib import Path

import pytest

from carecenter.assessments.definition import DEFAULT_DEFINITION, SHIPPED, Definition, definitions, read_definition
from carecenter.assessments.scoring import IncompleteAnswers, score
from tests.factories import GBT_BEST

FORM = definitions()[DEFAULT_DEFINITION]
# Items in the order they are lowered to reach a total: each step takes one point off.
LOWERING = [item.code for item in FORM.items()]


def answers_totalling(total: int) -> dict[str, str]:
    """Answers whose scores add up to `total`: start from the best and lower items one point at a
    time (the options of every item are scored best-first, one apart, except B3.9 and B3.7/8)."""
    answers = dict(GBT_BEST)
    missing = 90 - total
    for code in LOWERING:
        item = FORM.item(code)
        assert item is not None
        scored = sorted({o.score for o in item.options}, reverse=True)
        while missing and scored.index(item.option(answers[code]).score) < len(scored) - 1:  # type: ignore[union-attr]
            lower = scored[scored.index(item.option(answers[code]).score) + 1]  # type: ignore[union-attr]
            answers[code] = next(o.code for o in item.options if o.score == lower and o.code != "coma")
            missing -= 1
    assert missing == 0
    return answers


def test_the_shipped_form_is_the_standards_shape() -> None:
    assert [len(d.items) for d in FORM.domains] == [8, 4, 9, 5]  # 26 items
    assert [d.max_score for d in FORM.domains] == [32, 15, 28, 15]  # B.1-B.4 totals
    assert FORM.total_max == 90
    assert [(lv.code, lv.min, lv.max) for lv in FORM.levels] == [
        ("intact", 90, 90),
        ("mild", 66, 89),
        ("moderate", 46, 65),
        ("severe", 30, 45),
        ("complete", 0, 29),
    ]
    assert all(
        item.name.zh and item.name.en and all(o.label.zh and o.label.en for o in item.options) for item in FORM.items()
    )


@pytest.mark.parametrize(
    ("total", "level"),
    [
        (90, "intact"),
        (89, "mild"),
        (66, "mild"),
        (65, "moderate"),
        (46, "moderate"),
        (45, "severe"),
        (30, "severe"),
        (29, "complete"),
        (0, "complete"),
    ],
)
def test_every_level_boundary(total: int, level: str) -> None:
    result = score(FORM, answers_totalling(total))
    assert (result.total, result.level_by_score, result.level, result.rules_applied) == (total, level, level, [])


def test_a_hand_computed_case_by_domain() -> None:
    """Needs help with bathing (2) and dressing the lower body (3), walks with a stick (3), cannot
    manage stairs alone (1), some memory trouble (3), low mood last month (0), reads only large
    print (1), takes a taxi but no bus (2): 32-3=29, 15-3=12, 28-2=26, 15-2=13, total 80."""
    answers = GBT_BEST | {
        "B1.3": "2",
        "B1.5": "3",
        "B2.3": "3",
        "B2.4": "1",
        "B3.4": "3",
        "B3.8": "present",
        "B4.1": "1",
        "B4.4": "2",
    }
    result = score(FORM, answers)
    assert result.domain_scores == {"B1": 29, "B2": 12, "B3": 26, "B4": 13}
    assert (result.total, result.level) == (80, "mild")


def test_a_coma_goes_straight_to_the_last_level() -> None:
    result = score(FORM, GBT_BEST | {"B3.9": "coma"})
    assert (result.total, result.level_by_score, result.level, result.rules_applied) == (
        88,
        "mild",
        "complete",
        ["coma"],
    )
    stupor = score(FORM, GBT_BEST | {"B3.9": "stupor"})  # the same score, not a coma
    assert (stupor.total, stupor.level) == (88, "mild")


@pytest.mark.parametrize("flag", ["dementia", "mental_illness"])
def test_a_diagnosis_raises_the_level_by_one(flag: str) -> None:
    assert score(FORM, answers_totalling(90), flags={flag}).level == "mild"
    assert score(FORM, answers_totalling(50), flags={flag}).level == "severe"
    assert score(FORM, answers_totalling(20), flags={flag}).level == "complete"  # no level beyond the last


def test_two_or_more_risk_events_in_30_days_raise_the_level() -> None:
    assert score(FORM, answers_totalling(70), risk_events={"fall": 1}).level == "mild"
    raised = score(FORM, answers_totalling(70), risk_events={"fall": 1, "choking": 1})
    assert (raised.level, raised.rules_applied) == ("moderate", ["risk_events"])


def test_several_reasons_still_raise_by_one_level_only() -> None:
    result = score(FORM, answers_totalling(70), flags={"dementia", "mental_illness"}, risk_events={"wandering": 3})
    assert result.level == "moderate"
    assert result.rules_applied == ["dementia", "mental_illness", "risk_events"]


def test_missing_or_unknown_answers_are_named() -> None:
    answers = dict(GBT_BEST)
    del answers["B2.2"]
    answers["B4.1"] = "9"
    with pytest.raises(IncompleteAnswers) as caught:
        score(FORM, answers)
    assert (caught.value.missing, caught.value.invalid) == (["B2.2"], ["B4.1"])


def test_a_provinces_variant_loads_beside_the_national_form(tmp_path: Path) -> None:
    variant = json.loads((SHIPPED / f"{DEFAULT_DEFINITION}.json").read_text(encoding="utf-8"))
    variant["code"], variant["version"] = "bj-2024", "2024"
    variant["rules"] = [r for r in variant["rules"] if r["code"] != "risk_events"]  # this province drops a rule
    (tmp_path / "bj.json").write_text(json.dumps(variant, ensure_ascii=False), encoding="utf-8")
    found = definitions(str(tmp_path))
    assert set(found) == {DEFAULT_DEFINITION, "bj-2024"}
    assert score(found["bj-2024"], answers_totalling(70), risk_events={"fall": 2}).level == "mild"


def test_a_definition_whose_scores_do_not_add_up_is_refused(tmp_path: Path) -> None:
    broken = json.loads((SHIPPED / f"{DEFAULT_DEFINITION}.json").read_text(encoding="utf-8"))
    broken["total_max"] = 100
    (tmp_path / "broken.json").write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(ValueError, match="do not add up"):
        read_definition(tmp_path / "broken.json")
    assert isinstance(FORM, Definition)
