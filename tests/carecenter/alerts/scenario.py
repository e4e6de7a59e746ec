"""A small center for alert tests: resident, care worker, manager, night shift, family, a watch."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.access import Role
from carecenter.centers.models import Center
from carecenter.devices.models import Device
from carecenter.residents.models import FamilyContact, Resident
from carecenter.staff.models import Language, Staff
from tests.factories import make_center, make_contact, make_device, make_resident, make_shift, make_staff


@dataclass
class Scenario:
    center: Center
    resident: Resident
    worker: Staff
    on_duty: Staff
    manager: Staff
    daughter: FamilyContact
    son: FamilyContact
    watch: Device
    key: str

    def post(
        self, client: TestClient, now: datetime, kind: str = "sos", event_id: str | None = None, **values: Any
    ) -> Any:
        body = {"event_id": event_id or f"{kind}-{now.isoformat()}", "kind": kind, "recorded_at": now.isoformat()}
        return client.post("/api/v1/checkins", json=body | values, headers={"X-Device-Key": self.key})


def build(session: Session, now: datetime) -> Scenario:
    center = make_center(session, town="长阳镇", latitude=39.76, longitude=116.21)
    worker = make_staff(session, center=center, phone="+8613700000001", name="护理员甲")
    on_duty = make_staff(session, center=center, phone="+8613700000002", name="值班员乙", language=Language.en)
    manager = make_staff(session, center=center, role=Role.manager, phone="+8613700000003")
    resident = make_resident(
        session,
        center=center,
        name="王秀英",
        primary_worker_id=worker.id,
        address="长阳镇稻田村12号",
        latitude=39.76,
        longitude=116.21,
        consent_health_data=True,
        consent_location_data=True,
        wander_risk=True,
    )
    daughter = make_contact(
        session,
        resident=resident,
        phone="+8613900000001",
        priority=1,
        quiet_hours_start=time(22),
        quiet_hours_end=time(7),
    )
    son = make_contact(session, resident=resident, phone="+8613900000002", priority=2)
    make_shift(session, center=center, staff=[on_duty], starts_at=now - timedelta(hours=2))
    watch, key = make_device(session, center=center, resident=resident)
    return Scenario(center, resident, worker, on_duty, manager, daughter, son, watch, key)
