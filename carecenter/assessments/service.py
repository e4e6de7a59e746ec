"""Recording, signing and correcting assessments; the current level; who is due for reassessment."""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from carecenter.access import Actor, Role
from carecenter.alerts.models import Alert, AlertKind, Outcome
from carecenter.assessments.definition import DEFAULT_DEFINITION, Definition, definitions
from carecenter.assessments.models import Assessment, AssessmentCreate, AssessmentDue, AssessmentUpdate
from carecenter.assessments.scoring import IncompleteAnswers, score
from carecenter.audit.service import record_event
from carecenter.centers.models import Center
from carecenter.errors import Conflict, InvalidField
from carecenter.residents.models import Resident, ResidentStatus
from carecenter.residents.service import get_resident, resident_named

ASSESSORS = (Role.assessor, Role.manager, Role.admin)
REASSESS_AFTER_DAYS = 365
DUE_SOON_DAYS = 30
RISK_WINDOW = timedelta(days=30)  # the standard's "last 30 days" for risk events


def definition_of(code: str | None, extra_dir: str | None = None) -> Definition:
    found = definitions(extra_dir).get(code or DEFAULT_DEFINITION)
    if found is None:
        raise InvalidField(
            ["body", "definition"],
            "no assessment form {code}; known: {known}",
            code=code,
            known=", ".join(definitions(extra_dir)),
        )
    return found


def _check_inputs(
    definition: Definition, answers: dict[str, str], flags: list[str], risk_events: dict[str, int]
) -> None:
    """Only items, options, flags and risk events the form has (a draft may leave items out)."""
    for item_code, option in answers.items():
        item = definition.item(item_code)
        if item is None or item.option(option) is None:
            raise InvalidField(
                ["body", "answers", item_code], "no option {option} for item {item}", option=option, item=item_code
            )
    known_flags = {f.code for f in definition.flags}
    if unknown := [f for f in flags if f not in known_flags]:
        raise InvalidField(
            ["body", "flags"],
            "unknown {unknown}; choose from {known}",
            unknown=", ".join(unknown),
            known=", ".join(known_flags),
        )
    known_events = {e.code for e in definition.risk_events}
    for kind, count in risk_events.items():
        if kind not in known_events:
            raise InvalidField(
                ["body", "risk_events", kind],
                "unknown {unknown}; choose from {known}",
                unknown=kind,
                known=", ".join(known_events),
            )
        if not 0 <= count <= 100:
            raise InvalidField(["body", "risk_events", kind], "a count from 0 to 100")


def get_assessment(*, session: Session, actor: Actor, assessment_id: int) -> Assessment:
    assessment = session.get(Assessment, assessment_id)
    actor.require_visible(assessment.center_id if assessment else None, "assessment")
    assert assessment is not None
    return assessment


def create_assessment(
    *, session: Session, actor: Actor, data: AssessmentCreate, now: datetime, extra_dir: str | None = None
) -> Assessment:
    """A new assessment (assessors, managers, admins): a draft, or signed at once when complete."""
    resident = resident_named(session=session, actor=actor, resident_id=data.resident_id)
    definition = definition_of(data.definition, extra_dir)
    _check_inputs(definition, data.answers, data.flags, data.risk_events)
    _check_day(session, resident.center_id, data.assessed_on, now)
    if data.corrects_id is not None:
        corrected = session.get(Assessment, data.corrects_id)
        if corrected is None or corrected.resident_id != resident.id or corrected.signed_at is None:
            raise InvalidField(
                ["body", "corrects_id"], "no signed assessment {id} of this resident", id=data.corrects_id
            )
    assessment = Assessment(
        center_id=resident.center_id,
        resident_id=data.resident_id,
        definition=definition.code,
        definition_version=definition.version,
        assessed_on=data.assessed_on,
        reason=data.reason,
        answers=data.answers,
        flags=sorted(set(data.flags)),
        risk_events={k: v for k, v in data.risk_events.items() if v},
        notes=data.notes,
        assessor_id=actor.staff_id,
        corrects_id=data.corrects_id,
        created_at=now,
    )
    session.add(assessment)
    session.flush()
    _audit(session, actor, assessment, "assessment.create", now)
    if data.sign:
        sign_assessment(session=session, actor=actor, assessment_id=assessment.id or 0, now=now, extra_dir=extra_dir)
    return assessment


def _check_day(session: Session, center_id: int, day: date, now: datetime) -> None:
    center = session.get(Center, center_id)
    assert center is not None
    if day > now.astimezone(ZoneInfo(center.time_zone)).date():
        raise InvalidField(["body", "assessed_on"], "an assessment cannot be dated in the future")


def update_assessment(
    *,
    session: Session,
    actor: Actor,
    assessment_id: int,
    data: AssessmentUpdate,
    now: datetime,
    extra_dir: str | None = None,
) -> Assessment:
    """Change a draft; a signed assessment never changes (409: record a correction)."""
    assessment = get_assessment(session=session, actor=actor, assessment_id=assessment_id)
    if assessment.signed_at is not None:
        raise Conflict("A signed assessment cannot change; record a new one that corrects it.")
    definition = definition_of(assessment.definition, extra_dir)
    answers = assessment.answers | (data.answers or {})
    flags = data.flags if data.flags is not None else assessment.flags
    risk_events = data.risk_events if data.risk_events is not None else assessment.risk_events
    _check_inputs(definition, answers, flags, risk_events)
    if data.assessed_on is not None:
        _check_day(session, assessment.center_id, data.assessed_on, now)
        assessment.assessed_on = data.assessed_on
    assessment.answers, assessment.flags = answers, sorted(set(flags))
    assessment.risk_events = {k: v for k, v in risk_events.items() if v}
    if data.notes is not None:
        assessment.notes = data.notes
    session.add(assessment)
    _audit(session, actor, assessment, "assessment.update", now)
    return assessment


def sign_assessment(
    *, session: Session, actor: Actor, assessment_id: int, now: datetime, extra_dir: str | None = None
) -> Assessment:
    """Score and sign: every item must be answered; from now on it is read-only."""
    assessment = get_assessment(session=session, actor=actor, assessment_id=assessment_id)
    if assessment.signed_at is not None:
        raise Conflict("This assessment is already signed.")
    definition = definition_of(assessment.definition, extra_dir)
    try:
        result = score(definition, assessment.answers, flags=set(assessment.flags), risk_events=assessment.risk_events)
    except IncompleteAnswers as exc:
        raise InvalidField(
            ["body", "answers"], "answer every item before signing; missing: {items}", items=", ".join(exc.missing)
        ) from exc
    assessment.domain_scores, assessment.total = result.domain_scores, result.total
    assessment.level_by_score, assessment.level = result.level_by_score, result.level
    assessment.rules_applied, assessment.signed_at = result.rules_applied, now
    session.add(assessment)
    _audit(session, actor, assessment, "assessment.sign", now)
    resident = care_level_from(session, assessment, definition)
    if resident is not None:
        record_event(
            session=session,
            actor=actor,
            action="resident.update",
            entity_type="resident",
            entity_id=resident.id,
            center_id=resident.center_id,
            now=now,
            changed_fields={"care_level": resident.care_level, "care_level_assessed_on": assessment.assessed_on},
        )
    return assessment


def care_level_from(session: Session, assessment: Assessment, definition: Definition) -> Resident | None:
    """The resident's care level follows their latest signed assessment (on a form whose levels say
    which care level each is); an older assessment signed late changes nothing. The resident, if changed."""
    level = next((lv for lv in definition.levels if lv.code == assessment.level), None)
    resident = session.get(Resident, assessment.resident_id)
    if level is None or level.care_level is None or resident is None:
        return None
    if resident.care_level_assessed_on is not None and resident.care_level_assessed_on > assessment.assessed_on:
        return None
    resident.care_level, resident.care_level_assessed_on = level.care_level, assessment.assessed_on
    session.add(resident)
    return resident


def history(session: Session, resident_id: int) -> list[Assessment]:
    """The resident's assessments, newest first (drafts included)."""
    stmt = select(Assessment).where(Assessment.resident_id == resident_id)
    return list(session.exec(stmt.order_by(col(Assessment.assessed_on).desc(), col(Assessment.id).desc())).all())


def corrected_ids(assessments: list[Assessment]) -> dict[int, int]:
    """Corrected assessment id -> the signed one that corrects it."""
    return {a.corrects_id: a.id for a in assessments if a.corrects_id is not None and a.signed_at and a.id}


def standing(signed: Sequence[Assessment]) -> dict[int, Assessment]:
    """Resident id -> the latest of these signed assessments that none of them corrects: what the
    resident's level and the due dates go by."""
    replaced = {a.corrects_id for a in signed if a.corrects_id is not None}
    latest: dict[int, Assessment] = {}
    for a in sorted(signed, key=lambda a: (a.assessed_on, a.id or 0)):
        if a.id not in replaced:
            latest[a.resident_id] = a
    return latest


def _signed(session: Session, *where: Any) -> Sequence[Assessment]:
    return session.exec(select(Assessment).where(col(Assessment.signed_at).is_not(None), *where)).all()


def list_assessments(*, session: Session, actor: Actor, resident_id: int) -> list[Assessment]:
    get_resident(session=session, actor=actor, resident_id=resident_id)
    return history(session, resident_id)


def current(session: Session, resident_id: int) -> Assessment | None:
    """The resident's standing assessment: their level."""
    return standing(_signed(session, Assessment.resident_id == resident_id)).get(resident_id)


def standing_assessments(session: Session, center_id: int) -> dict[int, Assessment]:
    """Resident id -> their standing assessment, for a whole center in one query."""
    return standing(_signed(session, Assessment.center_id == center_id))


def current_levels(session: Session, center_id: int) -> dict[int, str]:
    """Resident id -> current level, for a whole center in one query."""
    found = standing_assessments(session, center_id)
    return {resident_id: a.level for resident_id, a in found.items() if a.level is not None}


def assessments_due(session: Session, *, center_id: int, today: date) -> list[AssessmentDue]:
    """Active residents whose (re)assessment is due within 30 days or overdue: never assessed, a year
    since the last one, or a risk event since (a fall alert, an SOS that ended in hospital)."""
    residents = session.exec(
        select(Resident).where(Resident.center_id == center_id, Resident.status == ResidentStatus.active)
    ).all()
    last = {r: a.assessed_on for r, a in standing(_signed(session, Assessment.center_id == center_id)).items()}
    risky = (col(Alert.kind) == AlertKind.fall) | (
        (col(Alert.kind) == AlertKind.sos) & (col(Alert.outcome) == Outcome.hospital_transfer)
    )
    events = dict(
        session.exec(
            select(Alert.resident_id, func.max(Alert.opened_at))
            .where(Alert.center_id == center_id, risky)
            .group_by(col(Alert.resident_id))
        ).all()
    )
    zone = ZoneInfo(session.get(Center, center_id).time_zone)  # type: ignore[union-attr]
    due = []
    for resident in residents:
        assessed = last.get(resident.id or 0)
        event = events.get(resident.id or 0)
        event_day = event.astimezone(zone).date() if event is not None else None
        if assessed is None:
            due_on, why = today, "never"
        elif event_day is not None and event_day > assessed:
            due_on, why = event_day, "risk_event"
        else:
            due_on, why = assessed + timedelta(days=REASSESS_AFTER_DAYS), "yearly"
        if due_on <= today + timedelta(days=DUE_SOON_DAYS):
            due.append(
                AssessmentDue(
                    resident_id=resident.id or 0,
                    resident_name=resident.name,
                    last_assessed_on=assessed,
                    due_on=due_on,
                    why=why,
                    overdue=due_on < today,
                )
            )
    return sorted(due, key=lambda d: (d.due_on, d.resident_name))


def falls_seen(session: Session, resident_id: int, now: datetime) -> int:
    """Fall alerts of the last 30 days: the risk events the system itself saw (the form pre-fills them)."""
    return session.exec(
        select(func.count())
        .select_from(Alert)
        .where(Alert.resident_id == resident_id, Alert.kind == AlertKind.fall, Alert.opened_at >= now - RISK_WINDOW)
    ).one()


def _audit(session: Session, actor: Actor, assessment: Assessment, action: str, now: datetime) -> None:
    record_event(
        session=session,
        actor=actor,
        action=action,
        entity_type="assessment",
        entity_id=assessment.id,
        center_id=assessment.center_id,
        now=now,
    )
