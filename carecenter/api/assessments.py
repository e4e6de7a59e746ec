"""JSON endpoints: the assessment forms, assessments of residents, who is due for one."""

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request

from carecenter.assessments import service
from carecenter.assessments.definition import Definition, definitions
from carecenter.assessments.models import (
    Assessment,
    AssessmentCreate,
    AssessmentDue,
    AssessmentPublic,
    AssessmentUpdate,
    public,
)
from carecenter.assessments.service import ASSESSORS
from carecenter.centers.service import center_to_read
from carecenter.deps import ActorDep, NowDep, SessionDep, allow, assessment_dir
from carecenter.errors import NotFound
from carecommon.i18n import N_, Word

router = APIRouter(tags=["assessments"])


@router.get("/api/v1/assessment-forms", response_model=list[Definition])
def list_forms(request: Request, actor: ActorDep) -> list[Definition]:
    """The assessment forms this installation knows (the national one, and any province's variant)."""
    return list(definitions(assessment_dir(request)).values())


@router.get("/api/v1/assessment-forms/{code}", response_model=Definition)
def get_form(code: str, request: Request, actor: ActorDep) -> Definition:
    """One form: its domains, items and options (both languages), levels and special rules."""
    found = definitions(assessment_dir(request)).get(code)
    if found is None:
        raise NotFound("{what} not found", what=Word(N_("assessment form")))
    return found


def _public(session: SessionDep, assessment: Assessment) -> AssessmentPublic:
    later = service.corrected_ids(service.history(session, assessment.resident_id))
    return public(assessment, later.get(assessment.id or 0))


@router.post(
    "/api/v1/assessments",
    response_model=AssessmentPublic,
    status_code=201,
    dependencies=[allow(*ASSESSORS, to=N_("assess residents"))],
)
def create_assessment(
    data: AssessmentCreate, request: Request, actor: ActorDep, session: SessionDep, now: NowDep
) -> AssessmentPublic:
    """Record an assessment (assessors, managers): a draft, or signed at once with `sign: true`.

    Signing scores it (domain scores, total, level by the thresholds, then the special rules); a
    signed assessment never changes: a correction is a new one with `corrects_id`."""
    assessment = service.create_assessment(
        session=session, actor=actor, data=data, now=now, extra_dir=assessment_dir(request)
    )
    session.commit()
    return _public(session, assessment)


@router.get("/api/v1/assessments/due", response_model=list[AssessmentDue])
def assessments_due(
    actor: ActorDep, session: SessionDep, now: NowDep, center_id: int | None = None
) -> list[AssessmentDue]:
    """Residents whose assessment is due in the next 30 days or overdue, and why."""
    center = center_to_read(session=session, actor=actor, center_id=center_id)
    assert center.id is not None
    today = now.astimezone(ZoneInfo(center.time_zone)).date()
    return service.assessments_due(session, center_id=center.id, today=today)


@router.get("/api/v1/assessments/{assessment_id:int}", response_model=AssessmentPublic)
def get_assessment(assessment_id: int, actor: ActorDep, session: SessionDep) -> AssessmentPublic:
    """One assessment with its answers, scores and level (and the correction that replaced it, if any)."""
    return _public(session, service.get_assessment(session=session, actor=actor, assessment_id=assessment_id))


@router.patch(
    "/api/v1/assessments/{assessment_id:int}",
    response_model=AssessmentPublic,
    dependencies=[allow(*ASSESSORS, to=N_("assess residents"))],
)
def update_assessment(
    assessment_id: int, data: AssessmentUpdate, request: Request, actor: ActorDep, session: SessionDep, now: NowDep
) -> AssessmentPublic:
    """Change a draft (409 once signed)."""
    assessment = service.update_assessment(
        session=session, actor=actor, assessment_id=assessment_id, data=data, now=now, extra_dir=assessment_dir(request)
    )
    session.commit()
    return _public(session, assessment)


@router.post(
    "/api/v1/assessments/{assessment_id}/sign",
    response_model=AssessmentPublic,
    dependencies=[allow(*ASSESSORS, to=N_("assess residents"))],
)
def sign_assessment(
    assessment_id: int, request: Request, actor: ActorDep, session: SessionDep, now: NowDep
) -> AssessmentPublic:
    """Score and sign a draft (422 naming the items still unanswered)."""
    assessment = service.sign_assessment(
        session=session, actor=actor, assessment_id=assessment_id, now=now, extra_dir=assessment_dir(request)
    )
    session.commit()
    return _public(session, assessment)


@router.get("/api/v1/residents/{resident_id}/assessments", response_model=list[AssessmentPublic])
def resident_assessments(resident_id: int, actor: ActorDep, session: SessionDep) -> list[AssessmentPublic]:
    """The resident's assessments, newest first; the first signed one not corrected is their level."""
    found = service.list_assessments(session=session, actor=actor, resident_id=resident_id)
    later = service.corrected_ids(found)
    return [public(a, later.get(a.id or 0)) for a in found]
