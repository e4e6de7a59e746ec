"""A device's own page for managers: its connection, commands and their answers, its model's profile, its
voice messages and photos; unknown ids; the model profiles (admins edit them)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from carecenter.access import Role
from carecenter.context import context_of
from carecenter.deps import NowDep, SessionDep
from carecenter.devices import commands, media, profiles, service
from carecenter.devices.models import DeviceCommandIn, DeviceProfileForm, DeviceProtocol
from carecenter.downloads import attachment
from carecenter.errors import validation_message
from carecenter.pagination import PageParams
from carecenter.web.deps import CsrfForm, ManagerDep, NoFields, Posted, form_values, page_allow, posted, run_action
from carecenter.web.forms import parse
from carecenter.web.pages.records import record_form
from carecenter.web.paging import PageNumber, page_params_of, pager
from carecenter.web.render import render, same_site_path
from carecommon.i18n import N_, gettext

router = APIRouter(include_in_schema=False)
RECENT = PageParams(limit=20)


class CommandForm(DeviceCommandIn):
    back: str | None = None  # the page that offered the command (the resident's, after a contact changed)


@router.get(
    "/manage/devices/unknown",
    response_class=HTMLResponse,
    dependencies=[page_allow(Role.admin, to=N_("see devices that are not registered"))],
)
def unknown_devices(
    request: Request, user: ManagerDep, session: SessionDep, page_number: PageNumber = 1
) -> HTMLResponse:
    page = commands.list_unknown(session=session, actor=user.actor, page=page_params_of(page_number, 100))
    shown = pager(page, page_number, {})
    return render(request, "unknown_devices.html", user, rows=page.items, total=page.total, pager=shown)


@router.get("/manage/devices/profiles", response_class=HTMLResponse)
def profiles_page(request: Request, user: ManagerDep, session: SessionDep) -> HTMLResponse:
    rows = profiles.list_profiles(session=session, actor=user.actor)
    return render(request, "device_profiles.html", user, rows=rows, editable=user.actor.role == Role.admin)


PROFILE_TITLE = N_("Device model profile")


CHANGE_PROFILES = page_allow(Role.admin, to=N_("change device profiles"))


@router.get("/manage/devices/profiles/form", response_class=HTMLResponse, dependencies=[CHANGE_PROFILES])
def profile_form(
    request: Request,
    user: ManagerDep,
    session: SessionDep,
    protocol: DeviceProtocol = DeviceProtocol.gt06,
    model: str = "",
) -> HTMLResponse:
    values = DeviceProfileForm.of(profiles.effective_profile(session, protocol, model)) | {"model": model}
    return record_form(request, user, gettext(PROFILE_TITLE, user.language), DeviceProfileForm, values)


@router.post("/manage/devices/profiles/form", response_model=None, dependencies=[CHANGE_PROFILES])
def save_profile(request: Request, user: ManagerDep, session: SessionDep, now: NowDep, form: CsrfForm) -> Response:
    values = form_values(form)
    title = gettext(PROFILE_TITLE, user.language)
    data, errors = parse(DeviceProfileForm, values, partial=False, language=user.language)
    if data is not None:
        try:
            profiles.save_profile(session=session, actor=user.actor, data=data.profile(), now=now)
        except ValidationError as exc:  # only the alarm codes can be wrong here: shown next to that field
            errors = {"alarm_codes": "; ".join(_code_errors(exc, user.language))}
    if errors:
        return record_form(request, user, title, DeviceProfileForm, values, errors, status_code=422)
    session.commit()
    return RedirectResponse("/manage/devices/profiles", status_code=303)


@router.get("/manage/devices/{device_id:int}", response_class=HTMLResponse)
def device_page(device_id: int, request: Request, user: ManagerDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    device = service.get_device(session=session, actor=user.actor, device_id=device_id)
    protocol = DeviceProtocol(device.protocol)
    history = commands.list_commands(session=session, actor=user.actor, device_id=device_id, page=RECENT)
    kept = media.list_media(session=session, actor=user.actor, device_id=device_id, page=RECENT)
    numbers = commands.sos_numbers(session, device.resident_id) if device.resident_id is not None else []
    return render(
        request,
        "device.html",
        user,
        device=device,
        connected=service.is_connected(device, now),
        takeover_pending=service.takeover_pending(device),
        takes_commands=protocol.takes_commands,
        history=history.items,
        media=kept.items,
        profile=profiles.effective_profile(session, protocol, device.model),
        numbers=numbers,
    )


@router.post("/manage/devices/{device_id:int}/commands", response_model=None)
def send_command(
    device_id: int,
    user: ManagerDep,
    session: SessionDep,
    now: NowDep,
    form: Annotated[Posted[CommandForm], Depends(posted(CommandForm))],
) -> Response:
    target = same_site_path(form.values.get("back"), f"/manage/devices/{device_id}")

    def send(data: CommandForm) -> None:
        request = DeviceCommandIn(kind=data.kind, seconds=data.seconds)
        commands.request_command(session=session, actor=user.actor, device_id=device_id, data=request, now=now)

    return run_action(session, user, form, send, back_to=target)


@router.post("/manage/devices/{device_id:int}/confirm-connection", response_model=None)
def confirm_connection(
    device_id: int,
    user: ManagerDep,
    session: SessionDep,
    now: NowDep,
    form: Annotated[Posted[NoFields], Depends(posted(NoFields))],
) -> Response:
    def confirm(_data: NoFields) -> None:
        service.confirm_connection(session=session, actor=user.actor, device_id=device_id, now=now)

    return run_action(session, user, form, confirm, back_to=f"/manage/devices/{device_id}")


@router.get("/manage/devices/{device_id:int}/media/{media_id}", response_model=None)
def download_media(
    device_id: int, media_id: int, request: Request, user: ManagerDep, session: SessionDep, now: NowDep
) -> Response:
    item, data = media.media_file(
        session=session,
        actor=user.actor,
        device_id=device_id,
        media_id=media_id,
        store=context_of(request).media,
        now=now,
    )
    session.commit()
    return Response(data, media_type=item.content_type, headers=attachment(media.file_name(item)))


def _code_errors(exc: ValidationError, language: str) -> list[str]:
    return [f"{e['loc'][-1]}: {validation_message(e, language)}" for e in exc.errors(include_url=False)]
