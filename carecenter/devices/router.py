"""JSON endpoints for devices and their keys."""

from typing import Annotated

from fastapi import APIRouter, Depends

from carecenter.auth.deps import ActorDep, NowDep, SessionDep
from carecenter.devices import service
from carecenter.devices.models import Device, DeviceCreate, DeviceKind, DevicePublic, DeviceUpdate, DeviceWithKey
from carecenter.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


@router.get("", response_model=Page[DevicePublic])
def list_devices(
    actor: ActorDep,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    center_id: int | None = None,
    resident_id: int | None = None,
    kind: DeviceKind | None = None,
) -> Page[Device]:
    """List devices with battery and last-seen (your center; admins: any)."""
    return service.list_devices(
        session=session, actor=actor, page=page, center_id=center_id, resident_id=resident_id, kind=kind
    )


@router.post("", response_model=DeviceWithKey, status_code=201)
def register_device(data: DeviceCreate, actor: ActorDep, session: SessionDep, now: NowDep) -> DeviceWithKey:
    """Register a device; the answer carries its key, shown this once."""
    device = service.register_device(session=session, actor=actor, data=data, now=now)
    session.commit()
    return device


@router.get("/{device_id}", response_model=DevicePublic)
def get_device(device_id: int, actor: ActorDep, session: SessionDep) -> Device:
    """Read one device."""
    return service.get_device(session=session, actor=actor, device_id=device_id)


@router.patch("/{device_id}", response_model=DevicePublic)
def update_device(device_id: int, data: DeviceUpdate, actor: ActorDep, session: SessionDep, now: NowDep) -> Device:
    """Change a device's model, reporting interval or wearer."""
    device = service.update_device(session=session, actor=actor, device_id=device_id, data=data, now=now)
    session.commit()
    return device


@router.delete("/{device_id}", status_code=204)
def delete_device(device_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> None:
    """Remove a device that never posted (409 otherwise: revoke it instead)."""
    service.delete_device(session=session, actor=actor, device_id=device_id, now=now)
    session.commit()


@router.post("/{device_id}/rotate-key", response_model=DeviceWithKey)
def rotate_key(device_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> DeviceWithKey:
    """Issue a new key (shown once); the old key stops working."""
    device = service.rotate_key(session=session, actor=actor, device_id=device_id, now=now)
    session.commit()
    return device


@router.post("/{device_id}/revoke", response_model=DevicePublic)
def revoke_key(device_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> Device:
    """Stop accepting the device's key (lost or stolen device)."""
    device = service.revoke_key(session=session, actor=actor, device_id=device_id, now=now)
    session.commit()
    return device
