"""Scoring an assessment: domain scores, the total, the level by the thresholds, then the special
rules (a rule that names a level decides it; the others raise the level, at most `raise_at_most`)."""

from dataclasses import dataclass, field

from carecenter.assessments.definition import Definition


class IncompleteAnswers(ValueError):
    """Items left unanswered or answered with an option the item does not have."""

    def __init__(self, missing: list[str], invalid: list[str]) -> None:
        super().__init__(f"missing {missing}, invalid {invalid}")
        self.missing, self.invalid = missing, invalid


@dataclass(frozen=True)
class Score:
    domain_scores: dict[str, int]
    total: int
    level_by_score: str
    level: str
    rules_applied: list[str] = field(default_factory=list)


def score(
    definition: Definition,
    answers: dict[str, str],
    *,
    flags: set[str] = frozenset(),  # type: ignore[assignment]
    risk_events: dict[str, int] | None = None,
) -> Score:
    """The result of a complete set of answers; IncompleteAnswers names what is wrong."""
    missing = [i.code for i in definition.items() if i.code not in answers]
    invalid = [code for code, option in answers.items() if (i := definition.item(code)) is None or not i.option(option)]
    if missing or invalid:
        raise IncompleteAnswers(missing, invalid)
    chosen = {i.code: o.score for i in definition.items() if (o := i.option(answers[i.code])) is not None}
    domain_scores = {d.code: sum(chosen[i.code] for i in d.items) for d in definition.domains}
    total = sum(domain_scores.values())
    order = [level.code for level in definition.levels]
    by_score = next(level.code for level in definition.levels if level.min <= total <= level.max)
    events = sum((risk_events or {}).values())
    decided: str | None = None
    raised, applied = 0, []
    for rule in definition.rules:
        when = rule.when
        holds = (
            (when.item is not None and answers.get(when.item) in when.options)
            or (when.flag is not None and when.flag in flags)
            or (when.risk_events_at_least is not None and events >= when.risk_events_at_least)
        )
        if not holds:
            continue
        applied.append(rule.code)
        if rule.then.level is not None:
            decided = rule.then.level
        raised += rule.then.raise_
    if decided is not None:
        level = decided
    else:
        level = order[min(order.index(by_score) + min(raised, definition.raise_at_most), len(order) - 1)]
    return Score(domain_scores, total, by_score, level, applied)
