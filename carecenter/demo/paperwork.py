"""The demo's paperwork: subsidy rules, a signed assessment and eligibility groups for most
residents, and the visits, group meals and welfare visits of last month and of this month up to
yesterday as service records, so that the monthly report, this week's schedule, the figures, the
statements and the due lists look like a center that has been running, from the first start."""

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from carecenter.access import Actor, Role
from carecenter.assessments.definition import DEFAULT_DEFINITION, definitions
from carecenter.assessments.models import Assessment, AssessmentReason
from carecenter.assessments.scoring import score
from carecenter.assessments.service import care_level_from
from carecenter.catalogue.models import ServiceCategory
from carecenter.centers.models import Center
from carecenter.residents.models import CareLevel, LivingSituation, Resident, age_on
from carecenter.service_records.models import BulkMeals
from carecenter.service_records.service import month_bounds, record_bulk_meals
from carecenter.settings import Settings
from carecenter.staff.models import Staff
from carecenter.subsidies.models import Eligibility, EligibilityGroup, SubsidyRule
from carecenter.visits.models import CarePlan, Recurrence, Visit, VisitStatus, VisitTask
from carecenter.visits.planning import occurrence_dates, visit_window
from carecenter.visits.records import records_from_visits
from carecenter.visits.verification import Method, assess
from carecenter.visits.welfare import PLANNED_AT, WELFARE_SERVICE

# (group, category or None for all, share %, monthly cap in yuan or None): a typical town's terms.
RULES: list[tuple[EligibilityGroup, ServiceCategory | None, int, int | None]] = [
    (EligibilityGroup.extremely_poor, None, 100, 800),
    (EligibilityGroup.subsistence, None, 80, 500),
    (EligibilityGroup.disabled, ServiceCategory.bathing, 70, 300),
    (EligibilityGroup.disabled, ServiceCategory.medical_help, 70, 200),
    (EligibilityGroup.advanced_age, ServiceCategory.meals, 50, 200),
    (EligibilityGroup.living_alone, ServiceCategory.welfare_visit, 100, None),
]
# How likely each option (best first) is, by the care level the resident was entered with.
OPTION_WEIGHTS = {
    CareLevel.self_care: (88, 10, 2, 0, 0),
    CareLevel.semi_dependent: (35, 35, 20, 8, 2),
    CareLevel.dependent: (5, 15, 30, 30, 20),
}
NOT_GIVEN = ("老人外出就医", "老人拒绝", "停水", "家属已代劳")
DEMO_TOLERANCE_M = Settings.model_fields["visit_far_from_home_m"].default  # 200 m, as a new install judges


def seed_paperwork(
    session: Session, rng: random.Random, *, center: Center, manager: Staff, residents: list[Resident], now: datetime
) -> None:
    assert center.id is not None and manager.id is not None
    zone = ZoneInfo(center.time_zone)
    today = now.astimezone(zone).date()
    for group, category, share, cap in RULES:
        session.add(
            SubsidyRule(
                center_id=center.id,
                group=group,
                category=category,
                share_percent=share,
                monthly_cap_fen=cap * 100 if cap is not None else None,
                starts_on=date(today.year - 1, 1, 1),
                created_at=now,
            )
        )
    levels = {r.id: _assess(session, rng, r, manager, today, now) for r in residents}
    for resident in residents:
        _eligibility(session, rng, resident, levels.get(resident.id), today, now)
    session.flush()
    first, _ = month_bounds(f"{today.replace(day=1) - timedelta(days=1):%Y-%m}")
    following = today  # up to yesterday: today's visits and those after are the plans' own
    visits = _last_months_visits(session, rng, center, residents, first, following, now)
    visits += _welfare_visits(session, rng, center, residents, first, following, now)
    session.add_all(visits)
    session.flush()
    records_from_visits(session, visits=visits, now=now)
    actor = Actor(staff_id=manager.id, username=manager.username, role=Role.manager, center_id=center.id)
    diners = rng.sample(residents, min(20, len(residents)))
    for day in (first + timedelta(days=n) for n in range((following - first).days)):
        if day.weekday() in (0, 2, 4):  # the canteen's lunch sittings
            eating = [r.id or 0 for r in diners if rng.random() < 0.8]
            if eating:
                record_bulk_meals(
                    session=session,
                    actor=actor,
                    data=BulkMeals(service_code="meals", service_on=day, resident_ids=eating),
                    now=now,
                )


def _assess(
    session: Session, rng: random.Random, resident: Resident, manager: Staff, today: date, now: datetime
) -> str | None:
    """A signed national-form assessment that fits the care level the resident was entered with."""
    roll = rng.random()
    if roll < 0.04:
        return None  # never assessed: on the due list
    assessed_on = today - timedelta(days=380 if roll < 0.08 else rng.randint(20, 330))
    definition = definitions()[DEFAULT_DEFINITION]
    weights = OPTION_WEIGHTS[CareLevel(resident.care_level)]
    answers = {}
    for item in definition.items():
        options = [o for o in item.options if o.code != "coma"]
        answers[item.code] = rng.choices(options, weights=weights[: len(options)])[0].code
    flags = {"dementia"} if resident.dementia else set()
    risk_events = {"fall": 2} if rng.random() < 0.05 else {}
    result = score(definition, answers, flags=flags, risk_events=risk_events)
    signed_at = datetime.combine(assessed_on, PLANNED_AT, tzinfo=ZoneInfo("UTC"))
    assessment = Assessment(
        center_id=resident.center_id,
        resident_id=resident.id or 0,
        definition=definition.code,
        definition_version=definition.version,
        assessed_on=assessed_on,
        reason=AssessmentReason.first,
        answers=answers,
        flags=sorted(flags),
        risk_events=risk_events,
        domain_scores=result.domain_scores,
        total=result.total,
        level_by_score=result.level_by_score,
        level=result.level,
        rules_applied=result.rules_applied,
        assessor_id=manager.id,
        signed_at=min(signed_at, now),
        created_at=min(signed_at, now),
    )
    session.add(assessment)
    care_level_from(session, assessment, definition)  # the care level follows it, as when one is signed
    return result.level


def _eligibility(
    session: Session, rng: random.Random, resident: Resident, level: str | None, today: date, now: datetime
) -> None:
    groups = []
    if age_on(resident.birth_date, today) >= 80:
        groups.append(EligibilityGroup.advanced_age)
    if resident.living_situation == LivingSituation.alone:
        groups.append(EligibilityGroup.living_alone)
    if level in ("severe", "complete"):
        groups.append(EligibilityGroup.disabled)
    if level in ("moderate", "severe", "complete") and rng.random() < 0.8:
        groups.append(EligibilityGroup.ltci_insured)  # Beijing's LTCI pilot covers the disabled
    roll = rng.random()
    if roll < 0.08:
        groups.append(EligibilityGroup.extremely_poor)
    elif roll < 0.23:
        groups.append(EligibilityGroup.subsistence)
    for group in groups:
        session.add(
            Eligibility(
                center_id=resident.center_id,
                resident_id=resident.id or 0,
                group=group,
                starts_on=today - timedelta(days=rng.randint(120, 900)),
                document_ref=(
                    f"CQ{rng.randint(10**9, 10**10 - 1)}"  # the insurance number (made up)
                    if group == EligibilityGroup.ltci_insured
                    else f"房民〔{today.year}〕{rng.randint(10, 999)}号"
                ),
                created_at=now,
            )
        )


def _done(rng: random.Random, services: list[str]) -> list[VisitTask]:
    return [
        VisitTask(service=service, reason=rng.choice(NOT_GIVEN))
        if rng.random() < 0.04
        else VisitTask(service=service, done=True)
        for service in services
    ]


def _completed(
    rng: random.Random,
    plan_start: datetime,
    plan_end: datetime,
    resident: Resident,
    worker: int | None,
    services: list[str],
    now: datetime,
) -> Visit:
    checked_in = plan_start + timedelta(minutes=rng.randint(-5, 20))
    far = rng.random() < 0.03
    distance = float(rng.randint(300, 900) if far else rng.randint(3, 80))
    by_code = resident.home_code_active and not far  # scanned at the door, whatever GPS said
    method = Method.home_code if by_code else Method.gps
    visit = Visit(
        center_id=resident.center_id,
        resident_id=resident.id or 0,
        worker_id=worker,
        scheduled_start=plan_start,
        scheduled_end=plan_end,
        status=VisitStatus.completed,
        tasks=_done(rng, services),
        checked_in_at=checked_in,
        checked_out_at=checked_in + (plan_end - plan_start),
        check_in_distance_m=distance,
        check_out_distance_m=distance,
        far_from_home=far,
        check_in_method=method,
        check_out_method=method,
        created_at=now,
    )
    if rng.random() < 0.01:  # the tablet was flat: the times written in by the manager
        visit.check_out_method, visit.manual_reason, visit.manual_by = (
            Method.manual,
            "平板没电，按纸质记录补录",
            "manager",
        )
    assess(visit, tolerance_m=DEMO_TOLERANCE_M, confirmation_missing=False)
    return visit


def _last_months_visits(
    session: Session,
    rng: random.Random,
    center: Center,
    residents: list[Resident],
    first: date,
    following: date,
    now: datetime,
) -> list[Visit]:
    """The care plans' visits from `first` to before `following`, as if they had run (a few missed)."""
    by_id = {r.id: r for r in residents}
    visits = []
    for plan in session.exec(select(CarePlan).where(CarePlan.center_id == center.id)).all():
        recurrence = Recurrence.model_validate(plan.recurrence)
        days = occurrence_dates(
            recurrence, starts_on=first, ends_on=None, first=first, last=following - timedelta(days=1)
        )
        for day in days:
            start, end = visit_window(recurrence, day, center.time_zone)
            if rng.random() < 0.03:
                continue  # missed: no record
            visits.append(
                _completed(rng, start, end, by_id[plan.resident_id], plan.preferred_worker_id, plan.services, now)
            )
    return visits


def _welfare_visits(
    session: Session,
    rng: random.Random,
    center: Center,
    residents: list[Resident],
    first: date,
    following: date,
    now: datetime,
) -> list[Visit]:
    """Weekly welfare visits from `first` to before `following` to those living alone from the
    center's age (a few gaps)."""
    visits = []
    for resident in residents:
        if (
            resident.living_situation != LivingSituation.alone
            or age_on(resident.birth_date, first) < center.welfare_visit_age
        ):
            continue
        day = first + timedelta(days=rng.randint(0, 3))
        while day < following:
            if rng.random() > 0.1:  # now and then a week is skipped: the report flags it
                start = datetime.combine(day, PLANNED_AT, tzinfo=ZoneInfo(center.time_zone))
                visits.append(
                    _completed(
                        rng,
                        start,
                        start + timedelta(minutes=30),
                        resident,
                        resident.primary_worker_id,
                        [WELFARE_SERVICE],
                        now,
                    )
                )
            day += timedelta(days=7)
    return visits
