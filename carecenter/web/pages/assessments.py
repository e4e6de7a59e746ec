"""Assessing a resident item by item (assessors and managers, on the tablet or the console), and
the list of residents whose assessment is due."""

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from carecenter.assessments import service as assessments
from carecenter.assessments.definition import definitions
from carecenter.assessments.models import Assessment, AssessmentCreate, AssessmentReason, AssessmentUpdate
from carecenter.catalogue.service import catalogue, service_names
from carecenter.deps import NowDep, SessionDep, assessment_dir
from carecenter.errors import DomainError, NotFound, field_errors
from carecenter.residents import service as residents
from carecenter.residents.models import Resident
from carecenter.web.deps import CsrfForm, UserDep
from carecenter.web.render import back, render
from carecenter.web.user import WebUser
from carecommon.i18n import N_

router = APIRouter(include_in_schema=False)


def assessor_user(user: UserDep) -> WebUser:
    user.actor.require(*assessments.ASSESSORS, to=N_("assess residents"))
    return user


AssessorDep = Annotated[WebUser, Depends(assessor_user)]


def _today(user: WebUser, now: datetime) -> date:
    return now.astimezone(ZoneInfo(user.time_zone)).date()


def _form_page(
    request: Request,
    user: WebUser,
    session: Session,
    resident: Resident,
    *,
    assessment: Assessment | None,
    values: dict[str, Any],
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    definition = assessments.definition_of(assessment.definition if assessment else None, assessment_dir(request))
    return render(
        request,
        "assessment.html",
        user,
        status_code=status_code,
        resident=resident,
        definition=definition,
        assessment=assessment,
        values=values,
        form_error=error,
        reasons=[r.value for r in AssessmentReason],
        lang_words=lambda words: words.in_(user.language),
    )


def _values_of(assessment: Assessment) -> dict[str, Any]:
    return {
        "assessed_on": assessment.assessed_on.isoformat(),
        "reason": assessment.reason,
        "answers": dict(assessment.answers),
        "flags": list(assessment.flags),
        "risk_events": {k: str(v) for k, v in assessment.risk_events.items()},
        "notes": assessment.notes,
        "corrects_id": assessment.corrects_id,
    }


def _posted(form: FormData) -> dict[str, Any]:
    """The form as AssessmentCreate's fields: answers from "item-<code>", counts from "risk-<code>"."""
    return {
        "assessed_on": str(form.get("assessed_on") or ""),
        "reason": str(form.get("reason") or ""),
        "answers": {k[5:]: str(v) for k, v in form.items() if k.startswith("item-") and v},
        "flags": [str(v) for v in form.getlist("flags")],
        "risk_events": {k[5:]: str(v).strip() for k, v in form.items() if k.startswith("risk-") and str(v).strip()},
        "notes": str(form.get("notes") or ""),
        "corrects_id": str(form.get("corrects_id") or "") or None,
        "sign": form.get("action") == "sign",
    }


@router.get("/residents/{resident_id}/assessments/new", response_class=HTMLResponse)
def new_assessment(
    resident_id: int, request: Request, user: AssessorDep, session: SessionDep, now: NowDep, corrects: int | None = None
) -> HTMLResponse:
    resident = residents.get_resident(session=session, actor=user.actor, resident_id=resident_id)
    values: dict[str, Any] = {
        "assessed_on": _today(user, now).isoformat(),
        "reason": "first",
        "answers": {},
        "flags": ["dementia"] if resident.dementia else [],
        "risk_events": {"fall": str(assessments.falls_seen(session, resident_id, now))},
    }
    if corrects is not None:
        corrected = assessments.get_assessment(session=session, actor=user.actor, assessment_id=corrects)
        if corrected.resident_id != resident_id:
            raise NotFound("{what} not found", what=N_("assessment"))
        values = _values_of(corrected) | {"reason": "correction", "corrects_id": corrected.id}
    return _form_page(request, user, session, resident, assessment=None, values=values)


def _save(
    request: Request,
    user: WebUser,
    session: Session,
    resident: Resident,
    assessment_id: int | None,
    values: dict[str, Any],
    act: Callable[[], int],
) -> Response:
    """Run `act` (it returns the assessment's id) and show the assessment; a value the form or the
    service refuses brings the form back with the reason and everything chosen kept."""
    try:
        saved = act()
    except ValidationError as exc:
        error = "; ".join(field_errors(exc.errors(include_url=False), user.language).values())
        status_code = 422
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        session.rollback()
        error, status_code = exc.text(user.language), exc.status_code
    else:
        session.commit()
        return back(f"/assessments/{saved}")
    assessment = session.get(Assessment, assessment_id) if assessment_id is not None else None
    return _form_page(
        request, user, session, resident, assessment=assessment, values=values, error=error, status_code=status_code
    )


@router.post("/residents/{resident_id}/assessments/new", response_model=None)
def create_assessment(
    resident_id: int, request: Request, user: AssessorDep, form: CsrfForm, session: SessionDep, now: NowDep
) -> Response:
    """Save as a draft or sign; on any error the form comes back with everything typed kept."""
    resident = residents.get_resident(session=session, actor=user.actor, resident_id=resident_id)
    values = _posted(form)

    def act() -> int:
        data = AssessmentCreate.model_validate(values | {"resident_id": resident_id})
        made = assessments.create_assessment(
            session=session, actor=user.actor, data=data, now=now, extra_dir=assessment_dir(request)
        )
        return made.id or 0

    return _save(request, user, session, resident, None, values, act)


@router.get("/assessments/{assessment_id}", response_class=HTMLResponse)
def assessment_page(assessment_id: int, request: Request, user: UserDep, session: SessionDep) -> HTMLResponse:
    """A signed assessment's result and answers; a draft's form (for those who assess)."""
    assessment = assessments.get_assessment(session=session, actor=user.actor, assessment_id=assessment_id)
    resident = residents.get_resident(session=session, actor=user.actor, resident_id=assessment.resident_id)
    return _form_page(request, user, session, resident, assessment=assessment, values=_values_of(assessment))


@router.post("/assessments/{assessment_id}", response_model=None)
def update_assessment(
    assessment_id: int, request: Request, user: AssessorDep, form: CsrfForm, session: SessionDep, now: NowDep
) -> Response:
    """Change a draft, and sign it when asked."""
    assessment = assessments.get_assessment(session=session, actor=user.actor, assessment_id=assessment_id)
    resident = residents.get_resident(session=session, actor=user.actor, resident_id=assessment.resident_id)
    values = _posted(form)

    def act() -> int:
        data = AssessmentUpdate.model_validate({k: v for k, v in values.items() if k in AssessmentUpdate.model_fields})
        extra = assessment_dir(request)
        assessments.update_assessment(
            session=session, actor=user.actor, assessment_id=assessment_id, data=data, now=now, extra_dir=extra
        )
        if values["sign"]:
            assessments.sign_assessment(
                session=session, actor=user.actor, assessment_id=assessment_id, now=now, extra_dir=extra
            )
        return assessment_id

    return _save(request, user, session, resident, assessment_id, values, act)


@router.get("/assessments", response_class=HTMLResponse)
def due_page(request: Request, user: AssessorDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    """Who is due for an assessment in the next 30 days or overdue, and why."""
    center_id = user.actor.center_id
    due = assessments.assessments_due(session, center_id=center_id, today=_today(user, now)) if center_id else []
    return render(request, "assessments_due.html", user, due=due, can_assess=user.actor.role in assessments.ASSESSORS)


def suggested_services(session: Session, resident: Resident, extra_dir: str | None) -> list[str]:
    """Catalogue codes the resident's current level suggests (empty when not assessed)."""
    latest = assessments.current(session, resident.id or 0)
    if latest is None or latest.level is None:
        return []
    level = assessments.definition_of(latest.definition, extra_dir).level(latest.level)
    wanted = set(level.suggested_categories) if level else set()
    return [
        code for code, s in catalogue(session, resident.center_id, active_only=True).items() if s.category in wanted
    ]


def assessment_section(request: Request, user: WebUser, session: Session, resident: Resident) -> dict[str, Any]:
    """What the resident page shows: the current level with its domain scores, the history, the
    services the level suggests."""
    extra = assessment_dir(request)
    found = assessments.history(session, resident.id or 0)
    latest = assessments.current(session, resident.id or 0)
    level = None
    if latest is not None and latest.level is not None:
        definition = assessments.definition_of(latest.definition, extra)
        names = service_names(session, resident.center_id, user.language)
        named_level = definition.level(latest.level)
        level = {
            "name": named_level.name.in_(user.language) if named_level else latest.level,
            "assessment": latest,
            "total_max": definition.total_max,
            "domains": [
                (d.name.in_(user.language), latest.domain_scores.get(d.code), d.max_score) for d in definition.domains
            ],
            "suggested": [names[c] for c in suggested_services(session, resident, extra)],
        }
    return {
        "level": level,
        "assessments": found,
        "corrected": assessments.corrected_ids(found),
        "level_names": level_names(extra, user.language),
    }


def level_names(extra_dir: str | None, language: str) -> dict[str, str]:
    return {lv.code: lv.name.in_(language) for d in definitions(extra_dir).values() for lv in d.levels}
