"""Exports in the receiver's format in the console: each template's files for the month and the
rows that fail the receiver's rules, to fix before the month closes."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from carecenter.deps import NowDep, SessionDep, SettingsDep
from carecenter.downloads import attachment
from carecenter.exports import service
from carecenter.exports.service import Export, FileFormat
from carecenter.web.deps import ManagerDep
from carecenter.web.pages.paperwork import MonthParam, month_or_last
from carecenter.web.render import render
from carecenter.web.user import WebUser

router = APIRouter(include_in_schema=False)


def _export(
    session: SessionDep,
    settings: SettingsDep,
    user: WebUser,
    code: str,
    month: str | None,
    center_id: int | None,
    now: NowDep,
) -> Export:
    month = month_or_last(month, user, now)
    return service.export_for(session, user.actor, settings.export_template_dir, code, center_id, month)


@router.get("/reports/exports/{template_code}", response_class=HTMLResponse)
def export_page(
    template_code: str,
    request: Request,
    user: ManagerDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    month: MonthParam = None,
    center_id: int | None = None,
) -> HTMLResponse:
    """The template, its files, and every row that fails its rules, with what to fix."""
    export = _export(session, settings, user, template_code, month, center_id, now)
    scope = f"&center_id={export.center.id}" if user.actor.is_admin else ""
    return render(
        request,
        "export.html",
        user,
        export=export,
        check=service.check(export, user.language),
        title=export.template.title.in_(user.language),
        receiver=export.template.receiver.in_(user.language),
        scope=scope,
        formats=list(FileFormat),
    )


@router.get("/reports/exports/{template_code}/file.{file_format}", response_model=None)
def export_file(
    template_code: str,
    file_format: FileFormat,
    user: ManagerDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    month: MonthParam = None,
    center_id: int | None = None,
) -> Response:
    export = _export(session, settings, user, template_code, month, center_id, now)
    body = service.audited_file(session, user.actor, export, file_format, now)
    return Response(
        body, media_type=service.MEDIA[file_format], headers=attachment(service.file_name(export, file_format))
    )
