"""The voice messages and photos devices send: listed on the device's page, each download audited."""

from datetime import datetime

from sqlmodel import Session, col, select

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.devices.models import DeviceMedia, MediaKind
from carecenter.devices.service import get_device
from carecenter.errors import NotFound
from carecenter.media.store import MediaStore
from carecenter.pagination import Page, PageParams, paginate
from carecommon.i18n import N_

EXTENSIONS = {MediaKind.voice: "amr", MediaKind.photo: "jpg"}


def list_media(*, session: Session, actor: Actor, device_id: int, page: PageParams) -> Page[DeviceMedia]:
    """A device's voice messages and photos, newest first."""
    get_device(session=session, actor=actor, device_id=device_id)
    stmt = select(DeviceMedia).where(DeviceMedia.device_id == device_id).order_by(col(DeviceMedia.id).desc())
    return paginate(session, stmt, page)


def media_file(
    *, session: Session, actor: Actor, device_id: int, media_id: int, store: MediaStore, now: datetime
) -> tuple[DeviceMedia, bytes]:
    """One voice message or photo and its bytes, for staff of its center; every download is audited."""
    device = get_device(session=session, actor=actor, device_id=device_id)
    item = session.get(DeviceMedia, media_id)
    if item is None or item.device_id != device_id:
        raise NotFound("{what} not found", what=N_("voice message or photo"))
    record_event(
        session=session,
        actor=actor,
        action="device.media.view",
        entity_type="device_media",
        entity_id=media_id,
        center_id=device.center_id,
        now=now,
    )
    return item, store.get(item.media_key)


def file_name(item: DeviceMedia) -> str:
    return f"{item.kind}-{item.received_at:%Y%m%d-%H%M%S}.{EXTENSIONS[MediaKind(item.kind)]}"
