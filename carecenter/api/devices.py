"""JSON endpoints for devices and their keys."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from carecenter.access import Role
from carecenter.deps import ActorDep, MediaDep, NowDep, SessionDep, allow
from carecenter.devices import commands, media, profiles, service
from carecenter.devices.models import (
    Device,
    DeviceCommand,
    DeviceCommandIn,
    DeviceCommandPublic,
    DeviceCreate,
    DeviceKind,
    DeviceMedia,
    DeviceMediaPublic,
    DeviceProfileIn,
    DeviceProfilePublic,
    DeviceProtocol,
    DevicePublic,
    DeviceUpdate,
    DeviceWithKey,
    UnknownDevice,
    UnknownDevicePublic,
)
from carecenter.downloads import attachment
from carecenter.pagination import Page, PageParams, page_params
from carecommon.i18n import N_

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])
profiles_router = APIRouter(prefix="/api/v1/device-profiles", tags=["devices"])


@router.get("", response_model=Page[DevicePublic])
def list_devices(
    actor: ActorDep,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    center_id: int | None = None,
    resident_id: int | None = None,
    kind: DeviceKind | None = None,
    q: Annotated[str | None, Query(max_length=64, description="A serial, a model or the wearer's name")] = None,
) -> Page[Device]:
    """List devices with battery and last-seen (your center; admins: any)."""
    return service.list_devices(
        session=session, actor=actor, page=page, center_id=center_id, resident_id=resident_id, kind=kind, q=q
    )


@router.post(
    "",
    response_model=DeviceWithKey,
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("register devices"))],
)
def register_device(data: DeviceCreate, actor: ActorDep, session: SessionDep, now: NowDep) -> DeviceWithKey:
    """Register a device; the answer carries its key, shown this once."""
    device = service.register_device(session=session, actor=actor, data=data, now=now)
    session.commit()
    return device


@router.get(
    "/unknown",
    response_model=Page[UnknownDevicePublic],
    dependencies=[allow(Role.admin, to=N_("see devices that are not registered"))],
)
def list_unknown_devices(
    actor: ActorDep, session: SessionDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[UnknownDevice]:
    """Ids that tried to connect without being registered (managers and admins): register them to let them in."""
    return commands.list_unknown(session=session, actor=actor, page=page)


@router.get("/{device_id:int}", response_model=DevicePublic)
def get_device(device_id: int, actor: ActorDep, session: SessionDep) -> Device:
    """Read one device."""
    return service.get_device(session=session, actor=actor, device_id=device_id)


@router.patch(
    "/{device_id:int}",
    response_model=DevicePublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("change devices"))],
)
def update_device(device_id: int, data: DeviceUpdate, actor: ActorDep, session: SessionDep, now: NowDep) -> Device:
    """Change a device's model, reporting interval or wearer."""
    device = service.update_device(session=session, actor=actor, device_id=device_id, data=data, now=now)
    session.commit()
    return device


@router.delete(
    "/{device_id:int}", status_code=204, dependencies=[allow(Role.manager, Role.admin, to=N_("remove devices"))]
)
def delete_device(device_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> None:
    """Remove a device that never posted (409 otherwise: revoke it instead)."""
    service.delete_device(session=session, actor=actor, device_id=device_id, now=now)
    session.commit()


@router.post(
    "/{device_id}/rotate-key",
    response_model=DeviceWithKey,
    dependencies=[allow(Role.manager, Role.admin, to=N_("rotate device keys"))],
)
def rotate_key(device_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> DeviceWithKey:
    """Issue a new key (shown once); the old key stops working."""
    device = service.rotate_key(session=session, actor=actor, device_id=device_id, now=now)
    session.commit()
    return device


@router.post(
    "/{device_id}/revoke",
    response_model=DevicePublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("revoke device keys"))],
)
def revoke_key(device_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> Device:
    """Stop accepting the device's key (lost or stolen device)."""
    device = service.revoke_key(session=session, actor=actor, device_id=device_id, now=now)
    session.commit()
    return device


@router.post(
    "/{device_id}/confirm-connection",
    response_model=DevicePublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("confirm a device's connection"))],
)
def confirm_connection(device_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> Device:
    """Say that the device's newest connection (one that took over its id from another address) is the
    real device: it gets the commands from now on, and the older connection is closed."""
    device = service.confirm_connection(session=session, actor=actor, device_id=device_id, now=now)
    session.commit()
    return device


@router.post(
    "/{device_id}/commands",
    response_model=DeviceCommandPublic,
    status_code=202,
    dependencies=[allow(Role.manager, Role.admin, to=N_("send commands to devices"))],
)
def send_command(
    device_id: int, data: DeviceCommandIn, actor: ActorDep, session: SessionDep, now: NowDep
) -> DeviceCommand:
    """Queue a command for a watch (upload interval, SOS numbers from the family contacts, locate now).

    It is sent while the watch is connected, or when it next connects; the command's status then
    says whether the watch answered or the command timed out.
    """
    command = commands.request_command(session=session, actor=actor, device_id=device_id, data=data, now=now)
    session.commit()
    return command


@router.get("/{device_id}/commands", response_model=Page[DeviceCommandPublic])
def list_commands(
    device_id: int, actor: ActorDep, session: SessionDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[DeviceCommand]:
    """A watch's commands, newest first, with their answers."""
    return commands.list_commands(session=session, actor=actor, device_id=device_id, page=page)


@router.get("/{device_id}/media", response_model=Page[DeviceMediaPublic])
def list_media(
    device_id: int, actor: ActorDep, session: SessionDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[DeviceMedia]:
    """The voice messages and photos a watch sent, newest first."""
    return media.list_media(session=session, actor=actor, device_id=device_id, page=page)


@router.get(
    "/{device_id}/media/{media_id}",
    response_class=Response,
    responses={200: {"content": {"audio/amr": {}, "image/jpeg": {}}}},
)
def get_media(
    device_id: int, media_id: int, actor: ActorDep, session: SessionDep, store: MediaDep, now: NowDep
) -> Response:
    """One voice message (AMR) or photo (JPEG), as a download; every download is audited."""
    item, data = media.media_file(
        session=session, actor=actor, device_id=device_id, media_id=media_id, store=store, now=now
    )
    session.commit()
    return Response(data, media_type=item.content_type, headers=attachment(media.file_name(item)))


@router.get("/{device_id}/profile", response_model=DeviceProfilePublic)
def device_profile(device_id: int, actor: ActorDep, session: SessionDep) -> DeviceProfilePublic:
    """The profile that applies to the device (its model's, its protocol's, or the built-in default)."""
    device = service.get_device(session=session, actor=actor, device_id=device_id)
    return profiles.effective_profile(session, DeviceProtocol(device.protocol), device.model)


@profiles_router.get(
    "",
    response_model=list[DeviceProfilePublic],
    dependencies=[allow(Role.manager, Role.admin, to=N_("see device profiles"))],
)
def list_profiles(actor: ActorDep, session: SessionDep) -> list[DeviceProfilePublic]:
    """Every saved device profile, and the built-in default of each protocol without one (managers, admins)."""
    return profiles.list_profiles(session=session, actor=actor)


@profiles_router.put(
    "", response_model=DeviceProfilePublic, dependencies=[allow(Role.admin, to=N_("change device profiles"))]
)
def save_profile(data: DeviceProfileIn, actor: ActorDep, session: SessionDep, now: NowDep) -> DeviceProfilePublic:
    """Create or replace the profile of a protocol and model (admins). An empty model is the protocol's
    profile; alarm codes given are laid over the protocol's ("ignore" turns one off). Devices read it
    when they next connect."""
    row = profiles.save_profile(session=session, actor=actor, data=data, now=now)
    session.commit()
    return profiles.public_view(data.protocol, row)


@profiles_router.delete(
    "",
    status_code=204,
    responses={404: {"description": "No saved profile of that protocol and model"}},
    dependencies=[allow(Role.admin, to=N_("change device profiles"))],
)
def delete_profile(
    protocol: DeviceProtocol, actor: ActorDep, session: SessionDep, now: NowDep, model: str = ""
) -> None:
    """Remove a saved profile; its devices follow their protocol's profile again (admins)."""
    profiles.delete_profile(session=session, actor=actor, protocol=protocol, model=model, now=now)
    session.commit()
