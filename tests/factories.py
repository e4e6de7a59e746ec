"""Plain factory helpers: `make_resident(session, center=c, name="…")`. Each commits."""

import uuid
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import count
from typing import Any, TypeVar

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from carecenter.access import Role
from carecenter.alerts.models import Alert, AlertKind, Severity
from carecenter.assessments.models import Assessment
from carecenter.auth.models import ApiClient
from carecenter.catalogue.models import ServiceOffering
from carecenter.catalogue.service import seed_default_catalogue
from carecenter.centers.models import Center
from carecenter.devices.models import Device, DeviceKind, DeviceMedia, MediaKind
from carecenter.devices.service import key_hash, new_device_key
from carecenter.duty.models import DutyShift, DutyShiftStaff
from carecenter.passwords import hash_password
from carecenter.residents.models import FamilyContact, Gender, Relation, Resident
from carecenter.service_records.models import ServiceRecord
from carecenter.staff.models import Staff
from carecenter.subsidies.models import Eligibility, SubsidyRule
from carecenter.visits.models import CarePlan, Visit, VisitPhoto
from notifications.models import SmsMessage

PASSWORD = "correct-horse-battery"
_seq = count(1)


@cache
def _hash(password: str) -> str:
    return hash_password(password)


def _phone() -> str:
    return f"+86170990{next(_seq):05d}"


R = TypeVar(
    "R",
    Center,
    Staff,
    Resident,
    FamilyContact,
    Device,
    Alert,
    DutyShift,
    CarePlan,
    Visit,
    Assessment,
    Eligibility,
    SubsidyRule,
    ServiceRecord,
    DeviceMedia,
    ApiClient,
)


def _save(session: Session, record: R) -> R:
    session.add(record)
    session.commit()
    session.refresh(record)
    return record


def make_center(session: Session, **overrides: Any) -> Center:
    n = next(_seq)
    values: dict[str, Any] = {
        "name": f"测试镇养老服务中心{n}",
        "town": f"测试镇{n}",
        "district": "房山区",
        "time_zone": "Asia/Shanghai",
    }
    center = _save(session, Center.model_validate(values | overrides))
    seed_default_catalogue(session, center_id=center.id or 0, now=datetime.now(UTC))
    session.commit()
    return center


def make_staff(
    session: Session,
    *,
    center: Center | None,
    role: Role = Role.care_worker,
    password: str = PASSWORD,
    **overrides: Any,
) -> Staff:
    n = next(_seq)
    values: dict[str, Any] = {
        "name": f"员工{n}",
        "phone": _phone(),
        "username": f"{role.value.replace('_', '')}{n}",
        "role": role,
        "center_id": center.id if center else None,
        "password_hash": _hash(password),
        "created_at": datetime.now(UTC),
    }
    return _save(session, Staff.model_validate(values | overrides))


def make_resident(session: Session, *, center: Center, **overrides: Any) -> Resident:
    n = next(_seq)
    values: dict[str, Any] = {
        "name": f"居民{n}",
        "gender": Gender.female,
        "birth_date": date(1940, 5, 1),
        "center_id": center.id,
        "address": "长阳镇测试村1号",
        "national_id": "11011119400501008X",
    }
    return _save(session, Resident.model_validate(values | overrides))


def make_contact(session: Session, *, resident: Resident, **overrides: Any) -> FamilyContact:
    n = next(_seq)
    values: dict[str, Any] = {
        "name": f"家属{n}",
        "relation": Relation.daughter,
        "phone": _phone(),
        "resident_id": resident.id,
    }
    return _save(session, FamilyContact.model_validate(values | overrides))


def login(client: TestClient, staff: Staff, password: str = PASSWORD) -> dict[str, str]:
    """Log in through the API; returns the Authorization header."""
    response = client.post("/api/v1/auth/token", data={"username": staff.username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def make_device(
    session: Session,
    *,
    center: Center,
    resident: Resident | None = None,
    kind: DeviceKind = DeviceKind.watch,
    **overrides: Any,
) -> tuple[Device, str]:
    """A registered device and its key."""
    key = new_device_key()
    values: dict[str, Any] = {
        "kind": kind,
        "serial": f"SN-{next(_seq):06d}",
        "center_id": center.id,
        "resident_id": resident.id if resident else None,
        "key_hash": key_hash(key),
        "key_prefix": key[:10],
        "key_rotated_at": datetime.now(UTC),
        "created_at": datetime.now(UTC),
    }
    return _save(session, Device.model_validate(values | overrides)), key


def make_alert(session: Session, *, resident: Resident, **overrides: Any) -> Alert:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "center_id": resident.center_id,
        "resident_id": resident.id,
        "kind": AlertKind.sos,
        "severity": Severity.critical,
        "opened_at": now,
        "last_triggered_at": now,
    }
    return _save(session, Alert.model_validate(values | overrides))


def make_shift(
    session: Session, *, center: Center, staff: list[Staff], starts_at: datetime, hours: float = 12
) -> DutyShift:
    assert center.id is not None
    shift = _save(
        session,
        DutyShift(
            center_id=center.id,
            name="班",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=hours),
            created_at=starts_at,
        ),
    )
    for member in staff:
        assert shift.id is not None and member.id is not None
        session.add(DutyShiftStaff(shift_id=shift.id, staff_id=member.id))
    session.commit()
    return shift


def make_plan(session: Session, *, resident: Resident, **overrides: Any) -> CarePlan:
    values: dict[str, Any] = {
        "resident_id": resident.id,
        "center_id": resident.center_id,
        "services": ["meals", "medication"],
        "recurrence": {"weekdays": [0, 2, 4], "start_time": "09:00:00", "duration_minutes": 60},
        "starts_on": date(2026, 11, 1),
        "created_at": datetime.now(UTC),
    }
    return _save(session, CarePlan.model_validate(values | overrides))


def make_visit(session: Session, *, resident: Resident, start: datetime, **overrides: Any) -> Visit:
    values: dict[str, Any] = {
        "center_id": resident.center_id,
        "resident_id": resident.id,
        "scheduled_start": start,
        "scheduled_end": start + timedelta(hours=1),
        "tasks": [{"service": "meals", "done": False}],
        "created_at": datetime.now(UTC),
    }
    return _save(session, Visit.model_validate(values | overrides))


GBT_BEST = {  # every item of the national form at its best option: 90, "intact"
    **{f"B1.{n}": "4" for n in range(1, 9)},
    **{f"B2.{n}": "4" for n in range(1, 4)},
    "B2.4": "3",
    **{f"B3.{n}": "4" for n in range(1, 7)},
    "B3.7": "none",
    "B3.8": "none",
    "B3.9": "clear",
    "B4.1": "2",
    "B4.2": "2",
    "B4.3": "4",
    "B4.4": "3",
    "B4.5": "4",
}


def make_assessment(session: Session, *, resident: Resident, **overrides: Any) -> Assessment:
    """A signed assessment of the national form (answers and results as given; defaults: all best)."""
    values: dict[str, Any] = {
        "center_id": resident.center_id,
        "resident_id": resident.id,
        "definition": "gbt-42195-2022",
        "definition_version": "2022",
        "assessed_on": date(2026, 11, 2),
        "reason": "first",
        "answers": GBT_BEST,
        "domain_scores": {"B1": 32, "B2": 15, "B3": 28, "B4": 15},
        "total": 90,
        "level_by_score": "intact",
        "level": "intact",
        "signed_at": datetime.now(UTC),
        "created_at": datetime.now(UTC),
    }
    return _save(session, Assessment.model_validate(values | overrides))


def make_eligibility(session: Session, *, resident: Resident, **overrides: Any) -> Eligibility:
    values: dict[str, Any] = {
        "center_id": resident.center_id,
        "resident_id": resident.id,
        "group": "subsistence",
        "starts_on": date(2026, 1, 1),
        "document_ref": "民低〔2026〕12号",
        "created_at": datetime.now(UTC),
    }
    return _save(session, Eligibility.model_validate(values | overrides))


def make_subsidy_rule(session: Session, *, center: Center, **overrides: Any) -> SubsidyRule:
    values: dict[str, Any] = {
        "center_id": center.id,
        "group": "subsistence",
        "share_percent": 80,
        "starts_on": date(2026, 1, 1),
        "created_at": datetime.now(UTC),
    }
    return _save(session, SubsidyRule.model_validate(values | overrides))


def make_service_record(session: Session, *, resident: Resident, **overrides: Any) -> ServiceRecord:
    values: dict[str, Any] = {
        "center_id": resident.center_id,
        "resident_id": resident.id,
        "service_code": "meals",
        "category": "meals",
        "unit": "meal",
        "quantity": 1,
        "service_on": date(2026, 11, 5),
        "month": "2026-11",
        "unit_price_fen": 1200,
        "amount_fen": 1200,
        "resident_fen": 1200,
        "created_at": datetime.now(UTC),
    }
    return _save(session, ServiceRecord.model_validate(values | overrides))


def offering_id(session: Session, center: Center, code: str = "meals") -> int:
    found = session.exec(
        select(ServiceOffering.id).where(ServiceOffering.center_id == center.id, ServiceOffering.code == code)
    ).one()
    assert found is not None
    return found


def jpeg_bytes(size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    """A small real JPEG."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def make_photo(session: Session, *, visit: Visit, store: Any, **overrides: Any) -> VisitPhoto:
    """A stored photo of the visit (its bytes in `store`)."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "center_id": visit.center_id,
        "visit_id": visit.id,
        "resident_id": visit.resident_id,
        "media_key": store.put(jpeg_bytes()),
        "width": 64,
        "height": 48,
        "size_bytes": 700,
        "taken_at": now,
        "created_at": now,
    }
    photo = VisitPhoto.model_validate(values | overrides)
    session.add(photo)
    session.commit()
    session.refresh(photo)
    return photo


def make_device_media(session: Session, *, device: Device, store: Any) -> DeviceMedia:
    """A voice message the device sent (its bytes in `store`)."""
    assert device.id is not None
    item = DeviceMedia(
        device_id=device.id,
        center_id=device.center_id,
        kind=MediaKind.voice,
        media_key=store.put(b"#!AMR\n" + uuid.uuid4().bytes),
        content_type="audio/amr",
        size_bytes=22,
        received_at=datetime.now(UTC),
    )
    return _save(session, item)


def make_proof(session: Session, *, visit_id: int | None, device_id: int | None, store: Any) -> tuple[int, int]:
    """The visit's signed confirmation and a photo, and a voice message from the device; the ids
    of the photo and of the voice message (each file's bytes in `store`)."""
    assert visit_id is not None and device_id is not None
    visit, device = session.get(Visit, visit_id), session.get(Device, device_id)
    assert visit is not None and device is not None
    visit.confirmation_signature = store.put(jpeg_bytes())
    session.add(visit)
    session.commit()
    photo, media = make_photo(session, visit=visit, store=store), make_device_media(session, device=device, store=store)
    assert photo.id is not None and media.id is not None
    return photo.id, media.id


def make_message(session: Session, *, center: Center, to: str = "+8613900000077") -> SmsMessage:
    """A message of the center in the outbox, already handed to the provider."""
    now = datetime.now(UTC)
    message = SmsMessage(
        dedupe_key=f"made:{next(_seq)}",
        to_phone=to,
        language="zh-CN",
        body="测试",
        purpose="test",
        center_id=center.id,
        status="sent",
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
    )
    session.add(message)
    session.commit()
    return message


def make_api_client(session: Session, *, centers: list[Center]) -> ApiClient:
    """A receiving system's API client (its token is not needed: tests of reads create one through the API)."""
    n = next(_seq)
    values = {
        "name": f"平台{n}",
        "center_ids": [c.id for c in centers],
        "token_hash": f"{n:064d}",
        "token_prefix": "ccp_test",
        "created_by": "admin",
    }
    return _save(session, ApiClient.model_validate(values))
