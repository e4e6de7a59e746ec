"""JSON endpoints for exports in the receiver's format: the templates, a month's file (CSV, XLSX,
JSON) and what in it fails the receiver's rules. Managers and admins; every file audited."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from carecenter.access import Actor, Role
from carecenter.deps import ActorDep, NowDep, SessionDep, SettingsDep, allow
from carecenter.downloads import attachment
from carecenter.errors import request_language
from carecenter.exports import service
from carecenter.exports.service import Export, ExportCheck, FileFormat, TemplatePublic
from carecenter.exports.template import templates
from carecenter.service_records.models import MONTH
from carecommon.i18n import N_

router = APIRouter(
    prefix="/api/v1",
    tags=["exports"],
    dependencies=[allow(Role.manager, Role.admin, to=N_("export claims and reports"))],
)
MonthQuery = Annotated[str, Query(pattern=MONTH, description="YYYY-MM")]


def _export(
    session: Session, actor: Actor, settings: SettingsDep, code: str, month: str, center_id: int | None
) -> Export:
    return service.export_for(session, actor, settings.export_template_dir, code, center_id, month)


@router.get("/export-templates", response_model=list[TemplatePublic])
def list_templates(request: Request, settings: SettingsDep) -> list[TemplatePublic]:
    """The layouts this server writes: shipped ones and the center's own (CARECENTER_EXPORT_TEMPLATE_DIR)."""
    language = request_language(request)
    return [
        TemplatePublic(
            code=t.code,
            version=t.version,
            title=t.title.in_(language),
            receiver=t.receiver.in_(language),
            rows=t.rows,
            columns=[c.name for c in t.columns],
            formats=list(FileFormat),
        )
        for t in sorted(templates(settings.export_template_dir).values(), key=lambda t: t.code)
    ]


@router.get("/exports/{template_code}/problems", response_model=ExportCheck)
def check_export(
    template_code: str,
    month: MonthQuery,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
    center_id: int | None = None,
) -> ExportCheck:
    """Every row checked against the template's rules (a missing code, an unverified visit, a
    resident without a valid assessment …), before the month is closed and the file sent."""
    export = _export(session, actor, settings, template_code, month, center_id)
    return service.check(export, request_language(request))


@router.get("/exports/{template_code}", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_file(
    template_code: str,
    month: MonthQuery,
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    center_id: int | None = None,
    format: FileFormat = FileFormat.csv,
) -> Response:
    """The month's file in the template's layout (a closed month's: the same bytes every time)."""
    export = _export(session, actor, settings, template_code, month, center_id)
    body = service.audited_file(session, actor, export, format, now)
    return Response(body, media_type=service.MEDIA[format], headers=attachment(service.file_name(export, format)))
