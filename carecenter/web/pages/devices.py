"""A device's own page for managers: its connection, commands to the watch and their answers; unknown ids."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from carecenter.auth.deps import NowDep, SessionDep
from carecenter.devices import commands, media, profiles, service
from carecenter.devices.models import DeviceCommandIn, DeviceProtocol
from carecenter.pagination import PageParams
from carecenter.web.deps import ManagerDep, Posted, posted, run_action
from carecenter.web.render import render, same_site_path

router = APIRouter(include_in_schema=False)
RECENT = PageParams(limit=20)


class CommandForm(DeviceCommandIn):
    back: str | None = None  # the page that offered the command (the resident's, after a contact changed)


@router.get("/manage/devices/unknown", response_class=HTMLResponse)
def unknown_devices(request: Request, user: ManagerDep, session: SessionDep) -> HTMLResponse:
    page = commands.list_unknown(session=session, actor=user.actor, page=PageParams(limit=200))
    return render(request, "unknown_devices.html", user, rows=page.items, total=page.total)


@router.get("/manage/devices/{device_id}", response_class=HTMLResponse)
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
        takes_commands=protocol.takes_commands,
        history=history.items,
        media=kept.items,
        profile=profiles.effective_profile(session, protocol, device.model),
        numbers=numbers,
    )


@router.post("/manage/devices/{device_id}/commands", response_model=None)
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


@router.get("/manage/devices/{device_id}/media/{media_id}", response_model=None)
def download_media(
    device_id: int, media_id: int, request: Request, user: ManagerDep, session: SessionDep, now: NowDep
) -> Response:
    item, data = media.media_file(
        session=session,
        actor=user.actor,
        device_id=device_id,
        media_id=media_id,
        store=request.app.state.media,
        now=now,
    )
    session.commit()
    disposition = f'attachment; filename="{media.file_name(item)}"'
    return Response(data, media_type=item.content_type, headers={"Content-Disposition": disposition})
