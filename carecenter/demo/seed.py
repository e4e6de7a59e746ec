"""Seeding the demo: two town centers with staff, residents and family contacts.

Phone numbers: mainland China has no officially fictional range, so every demo number lies in
the 170-0000 block (valid in form, assigned to nobody we know of) and the demo only ever uses
the console sender. Everything is made up; a fixed random seed keeps it the same each run.
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from carecenter.access import Role
from carecenter.alerts.models import EscalationPolicy, EscalationPolicyData
from carecenter.catalogue.models import ServiceOffering
from carecenter.catalogue.service import seed_default_catalogue
from carecenter.centers.models import Center
from carecenter.demo import data
from carecenter.demo.data import Town
from carecenter.demo.paperwork import seed_paperwork
from carecenter.devices.models import Device, DeviceKind, DeviceProtocol
from carecenter.devices.service import key_hash, new_device_key
from carecenter.duty.models import DutyShift, DutyShiftStaff
from carecenter.fields import national_id_check_char
from carecenter.geo import CoordinateSystem, to_wgs84
from carecenter.passwords import hash_password
from carecenter.residents.models import (
    CareLevel,
    FamilyContact,
    Gender,
    LivingSituation,
    Mobility,
    Relation,
    Resident,
)
from carecenter.settings.visits import VisitRules
from carecenter.staff.models import Language, Staff
from carecenter.visits.medication import medication_tasks
from carecenter.visits.models import CarePlan, PlannedMedication, Recurrence, Visit, VisitStatus, VisitTask
from carecenter.visits.service import generate_all_visits

FANGSHAN_REGION_CODE = "110111"
DISTRICT_CODES = {"房山区": FANGSHAN_REGION_CODE}
# Made-up national LTCI item codes for the demo's catalogue, 17 capitals and digits with the
# region in them as the real ones have; a center enters the codes its agency issues.
DEMO_LTCI_CODES = {
    code: f"C{FANGSHAN_REGION_CODE}{n:02d}{n * 37:04d}0001"
    for n, code in enumerate(("bathing", "cleaning", "medication", "health_check", "meals", "companionship"), start=1)
}


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    center: str | None


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    centers: dict[str, int]  # center name -> residents
    accounts: list[DemoAccount]
    gateways: list[dict[str, Any]]  # what the simulator needs: gateway keys and device serials
    watches: list[dict[str, Any]]  # the 4G watches (their own protocol over TCP): serial and home
    trackers: list[dict[str, Any]]  # the GT06 pendants (binary protocol over TCP): IMEI and home


def _home(latitude: float, longitude: float) -> tuple[float, float]:
    """A point picked on AMap (GCJ-02), stored in WGS-84."""
    lat, lon = to_wgs84(latitude, longitude, CoordinateSystem.gcj02)
    return round(lat, 6), round(lon, 6)


class _Phones:
    """Sequential numbers in the demo block: +86 170 0000 NNNN, then 170 0001 NNNN."""

    def __init__(self) -> None:
        self.next = 0

    def __call__(self) -> str:
        self.next += 1
        return f"+86170{self.next // 10000:04d}{self.next % 10000:04d}"


def _national_id(rng: random.Random, birth: date, gender: Gender) -> str:
    seq = rng.randrange(0, 500) * 2 + (1 if gender == Gender.male else 0)
    first17 = f"{FANGSHAN_REGION_CODE}{birth:%Y%m%d}{seq:03d}"
    return first17 + national_id_check_char(first17)


def _resident(
    rng: random.Random,
    phones: _Phones,
    town: Town,
    center_id: int,
    worker_ids: list[int],
    today: date,
    now: datetime,
) -> Resident:
    gender = rng.choice(list(Gender))
    given = data.FEMALE_GIVEN if gender == Gender.female else data.MALE_GIVEN
    birth = today - timedelta(days=rng.randint(60 * 365, 97 * 365))
    dementia = rng.random() < 0.08
    care_level = rng.choices(list(CareLevel), weights=(55, 30, 15))[0]
    home = _home(town.latitude + rng.uniform(-0.03, 0.03), town.longitude + rng.uniform(-0.04, 0.04))
    return Resident(
        center_id=center_id,
        name=rng.choice(data.SURNAMES) + rng.choice(given),
        gender=gender,
        birth_date=birth,
        national_id=_national_id(rng, birth, gender),
        phone=phones() if rng.random() < 0.7 else None,
        address=f"北京市{town.district}{town.town}{rng.choice(town.places)}{rng.randint(1, 120)}号",
        latitude=home[0],
        longitude=home[1],
        care_level=care_level,
        living_situation=rng.choices(list(LivingSituation), weights=(25, 40, 35))[0],
        conditions="、".join(rng.sample(data.CONDITIONS, rng.randint(0, 3))),
        allergies="、".join(rng.sample(data.ALLERGIES, rng.choice((0, 0, 0, 1)))),
        medications="、".join(rng.sample(data.MEDICATIONS, rng.randint(0, 3))),
        mobility=rng.choices(list(Mobility), weights=(60, 25, 10, 5))[0],
        dementia=dementia,
        wander_risk=dementia and rng.random() < 0.6,
        consent_health_data=rng.random() < 0.9,
        consent_location_data=rng.random() < 0.75,
        consent_service_photos=rng.random() < 0.7,
        consent_platform_id=rng.random() < 0.6,
        # A home code on the door where the flat is deep inside a block and GPS is far off.
        home_code_version=(printed := 1 if rng.random() < 0.2 else 0),
        home_code_active=bool(printed),
        primary_worker_id=rng.choice(worker_ids),
        created_at=now,
    )


def _contacts(rng: random.Random, phones: _Phones, resident: Resident, now: datetime) -> list[FamilyContact]:
    contacts = []
    for priority in range(1, rng.randint(1, 3) + 1):
        relation = rng.choice(
            (
                Relation.son,
                Relation.daughter,
                Relation.son,
                Relation.daughter_in_law,
                Relation.grandchild,
                Relation.spouse,
                Relation.neighbor,
            )
        )
        family_name = resident.name[0] if relation in (Relation.son, Relation.grandchild) else rng.choice(data.SURNAMES)
        quiet = rng.random() < 0.4
        assert resident.id is not None
        contacts.append(
            FamilyContact(
                resident_id=resident.id,
                name=family_name + rng.choice(data.WORKER_GIVEN + data.MALE_GIVEN),
                relation=relation,
                phone=phones(),
                language=Language.en if rng.random() < 0.05 else Language.zh_CN,
                priority=priority,
                is_emergency_contact=priority <= 2,
                quiet_hours_start=time(22, 0) if quiet else None,
                quiet_hours_end=time(7, 0) if quiet else None,
                visit_updates=priority == 1 and rng.random() < 0.3,
                created_at=now,
            )
        )
    return contacts


def _create(session: Session, password_hash: str, now: datetime, paperwork: bool) -> None:
    rng = random.Random(20261124)
    phones = _Phones()
    today = now.date()
    session.add(
        Staff(
            name="系统管理员",
            phone=phones(),
            username="admin",
            role=Role.admin,
            password_hash=password_hash,
            language=Language.zh_CN,
            created_at=now,
        )
    )
    for town in data.TOWNS:
        center = Center(
            name=town.center_name,
            town=town.town,
            district=town.district,
            address=town.address,
            latitude=_home(town.latitude, town.longitude)[0],
            longitude=_home(town.latitude, town.longitude)[1],
            phone=phones(),
            time_zone="Asia/Shanghai",
            division_code=DISTRICT_CODES.get(town.district),
            created_at=now,
        )
        session.add(center)
        session.flush()
        assert center.id is not None
        seed_default_catalogue(session, center_id=center.id, now=now)
        bathing = session.exec(
            select(ServiceOffering).where(ServiceOffering.center_id == center.id, ServiceOffering.code == "bathing")
        ).one()
        bathing.confirmation_required = True  # this center asks the resident to sign for a bath
        for offering in session.exec(select(ServiceOffering).where(ServiceOffering.center_id == center.id)).all():
            offering.ltci_code = DEMO_LTCI_CODES.get(offering.code)
        manager = Staff(
            name=rng.choice(data.SURNAMES) + rng.choice(data.WORKER_GIVEN),
            phone=phones(),
            username=town.manager,
            role=Role.manager,
            center_id=center.id,
            password_hash=password_hash,
            created_at=now,
        )
        session.add(manager)
        workers = []
        for n in range(1, town.workers + 1):
            username = "worker" if town.worker_prefix == "worker" and n == 1 else f"{town.worker_prefix}{n:02d}"
            worker = Staff(
                name=rng.choice(data.SURNAMES) + rng.choice(data.WORKER_GIVEN),
                phone=phones(),
                username=username,
                role=Role.care_worker,
                center_id=center.id,
                language=Language.en if n == 3 else Language.zh_CN,
                password_hash=password_hash,
                created_at=now,
            )
            session.add(worker)
            workers.append(worker)
        session.flush()
        worker_ids = [w.id for w in workers if w.id is not None]
        residents = [_resident(rng, phones, town, center.id, worker_ids, today, now) for _ in range(town.residents)]
        session.add_all(residents)
        session.flush()
        _care_plans(session, rng, center.id, residents, today)
        for resident in residents:
            session.add_all(_contacts(rng, phones, resident, now))
            resident.daily_ok_checkin = rng.random() < 0.03
            if rng.random() < 0.85:  # most residents wear a watch or a pendant
                session.add(_device(rng, center.id, resident, now))
        session.add(
            Device(
                kind=DeviceKind.gateway,
                serial=f"GW-{town.worker_prefix.upper()}",
                center_id=center.id,
                model="CC-GW1",
                key_hash=key_hash(new_device_key()),
                key_prefix="dk_",
                key_rotated_at=now,
                created_at=now,
            )
        )
        session.flush()
        if paperwork:
            seed_paperwork(session, rng, center=center, manager=manager, residents=residents, now=now)
        # A short cancel window for falls, so the demo shows one being called off with the OK button.
        session.add(
            EscalationPolicy(
                center_id=center.id,
                policy=EscalationPolicyData(fall_cancel_seconds=20).model_dump(mode="json"),
                updated_at=now,
            )
        )


def _device(rng: random.Random, center_id: int, resident: Resident, now: datetime) -> Device:
    """A 4G watch (known by an IMEI-like id, speaking its protocol), a GT06 pendant (its IMEI, the
    binary protocol) or a pendant behind the gateway."""
    kind = rng.choice((DeviceKind.watch, DeviceKind.watch, DeviceKind.pendant))
    protocol = DeviceProtocol.watch_tcp if kind == DeviceKind.watch else DeviceProtocol.http
    if kind == DeviceKind.watch and rng.random() < GT06_SHARE:
        kind, protocol = DeviceKind.pendant, DeviceProtocol.gt06
    serials = {
        DeviceProtocol.watch_tcp: imei(rng, "86"),
        DeviceProtocol.gt06: imei(rng, "35"),
        DeviceProtocol.http: f"PE-{center_id}-{resident.id:05d}",
    }
    return Device(
        kind=kind,
        protocol=protocol,
        serial=serials[protocol],
        center_id=center_id,
        resident_id=resident.id,
        model={DeviceProtocol.watch_tcp: "CC-W2", DeviceProtocol.gt06: "CC-GT06"}.get(protocol, "CC-P1"),
        reporting_interval_seconds=300,
        key_hash=key_hash(new_device_key()),
        key_prefix="dk_",
        key_rotated_at=now,
        created_at=now,
    )


def imei(rng: random.Random, prefix: str) -> str:
    """A random 15-digit IMEI with a valid Luhn check digit (guessing one from another is no easier than
    for real devices; the protocol has no secret besides the id)."""
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(14 - len(prefix)))
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(body)):
        doubled = digit * 2 if position % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return body + str((10 - total % 10) % 10)


GT06_SHARE = 0.2  # of the residents with a wearable of their own: a GT06 pendant rather than a watch


def ensure_roster(session: Session, *, center: Center, now: datetime, days: int = 14) -> None:
    """Day shifts (08:00-20:00, two workers) and night shifts (20:00-08:00, one) from yesterday on."""
    assert center.id is not None
    workers = session.exec(
        select(Staff).where(Staff.center_id == center.id, Staff.role == Role.care_worker).order_by(col(Staff.id))
    ).all()
    zone = ZoneInfo(center.time_zone)
    first_day = now.astimezone(zone).date() - timedelta(days=1)
    for offset in range(days + 1):
        day = first_day + timedelta(days=offset)
        for name, start_hour, crew in (("白班", 8, 2), ("夜班", 20, 1)):
            starts = datetime.combine(day, time(start_hour), tzinfo=zone)
            exists = session.exec(
                select(DutyShift.id).where(DutyShift.center_id == center.id, DutyShift.starts_at == starts)
            ).first()
            if exists is not None or not workers:
                continue
            shift = DutyShift(
                center_id=center.id, name=name, starts_at=starts, ends_at=starts + timedelta(hours=12), created_at=now
            )
            session.add(shift)
            session.flush()
            assert shift.id is not None
            index = day.toordinal() * 3 + (0 if start_hour == 8 else 2)
            for n in range(crew):
                worker = workers[(index + n) % len(workers)]
                assert worker.id is not None
                session.add(DutyShiftStaff(shift_id=shift.id, staff_id=worker.id))


def gateway_keys(session: Session, *, center_ids: list[int], now: datetime) -> list[dict[str, Any]]:
    """A fresh key for each demo gateway (keys are kept hashed), with its center's devices, for the simulator."""
    found = []
    for gateway in session.exec(
        select(Device).where(col(Device.center_id).in_(center_ids), Device.kind == DeviceKind.gateway)
    ).all():
        key = new_device_key()
        gateway.key_hash, gateway.key_prefix, gateway.key_rotated_at = key_hash(key), key[:10], now
        session.add(gateway)
        devices = session.exec(
            select(Device.serial, Resident.latitude, Resident.longitude)
            .join(Resident, col(Resident.id) == Device.resident_id)
            .where(
                Device.center_id == gateway.center_id,
                Device.kind != DeviceKind.gateway,
                Device.protocol == DeviceProtocol.http,
            )
            .order_by(col(Device.serial))
        ).all()
        found.append(
            {
                "center_id": gateway.center_id,
                "gateway": gateway.serial,
                "key": key,
                "devices": [{"serial": serial, "home": [lat, lon]} for serial, lat, lon in devices],
            }
        )
    return found


def demo_watches(
    session: Session, *, center_ids: list[int], protocol: DeviceProtocol = DeviceProtocol.watch_tcp
) -> list[dict[str, Any]]:
    """The demo's 4G watches (or GT06 pendants), for the simulator to drive over TCP."""
    rows = session.exec(
        select(Device.serial, Resident.latitude, Resident.longitude)
        .join(Resident, col(Resident.id) == Device.resident_id)
        .where(col(Device.center_id).in_(center_ids), Device.protocol == protocol)
        .order_by(col(Device.serial))
    ).all()
    return [{"serial": serial, "home": [lat, lon] if lat is not None else None} for serial, lat, lon in rows]


def _care_plans(session: Session, rng: random.Random, center_id: int, residents: list[Resident], today: date) -> None:
    """Dependent residents daily on weekdays, semi-dependent twice a week, the others weekly.

    Each worker's residents get their own hourly slots (08:00-17:00), so most visits keep their
    worker; the few that still collide stay unassigned for the manager.
    """
    slots: dict[int | None, int] = {}
    for resident in residents:
        slot = slots.get(resident.primary_worker_id, 0)
        slots[resident.primary_worker_id] = slot + 1
        if resident.care_level == CareLevel.dependent:
            weekdays, services = [0, 1, 2, 3, 4], ["meals", "medication", "bathing"]
        elif resident.care_level == CareLevel.semi_dependent:
            weekdays, services = sorted(rng.sample(range(5), 2)), ["health_check", "cleaning", "medication"]
        else:
            weekdays, services = [rng.randrange(6)], ["companionship", "health_check"]
        start = time(8 + slot % 10)
        medications = []
        if resident.care_level != CareLevel.self_care:  # a daily medicine, given at the visit
            name, dose, notes = rng.choice(data.DEMO_MEDICINES)
            medications.append(
                PlannedMedication(
                    name=name,
                    dose=dose,
                    times=[start],
                    notes=notes,
                    critical=resident.care_level == CareLevel.dependent,
                )
            )
        session.add(
            CarePlan(
                resident_id=resident.id or 0,
                center_id=center_id,
                services=services,
                medications=medications,
                recurrence=Recurrence(weekdays=weekdays, start_time=start, duration_minutes=45).model_dump(mode="json"),
                preferred_worker_id=resident.primary_worker_id,
                starts_on=today,
                created_at=datetime.now(UTC),
            )
        )


def _visits_for_the_worker_today(session: Session, *, now: datetime) -> None:
    """Whatever the hour the demo starts, `worker` has visits coming up to try the tablet with."""
    worker = session.exec(select(Staff).where(Staff.username == "worker")).first()
    if worker is None or worker.id is None:
        return
    soon = session.exec(
        select(Visit.id).where(
            Visit.worker_id == worker.id,
            Visit.status == VisitStatus.scheduled,
            col(Visit.scheduled_start) > now,
            col(Visit.scheduled_start) < now + timedelta(hours=4),
        )
    ).first()
    if soon is not None:
        return
    residents = session.exec(
        select(Resident).where(Resident.primary_worker_id == worker.id).order_by(col(Resident.id)).limit(3)
    ).all()
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=10)
    zone = ZoneInfo("Asia/Shanghai")
    for n, resident in enumerate(residents):
        begins = start + timedelta(hours=n)
        local = begins.astimezone(zone)
        medicine = PlannedMedication(
            name="氨氯地平片",
            dose="5 mg",
            times=[local.time().replace(second=0, microsecond=0)],
            notes="饭后",
            critical=True,
        )
        session.add(
            Visit(
                medications=medication_tasks([medicine], local, local + timedelta(minutes=45)),
                center_id=resident.center_id,
                resident_id=resident.id or 0,
                worker_id=worker.id,
                scheduled_start=begins,
                scheduled_end=begins + timedelta(minutes=45),
                created_at=now,
                tasks=[VisitTask(service=s) for s in ("health_check", "medication", "meals")],
            )
        )


def seed_demo(
    *, session: Session, password: str, now: datetime, rules: VisitRules | None = None, paperwork: bool = True
) -> DemoSummary:
    """Create the demo centers once; on every run, set every demo account's password."""
    names = [town.center_name for town in data.TOWNS]
    demo_centers = select(Center).where(col(Center.name).in_(names))
    created = session.exec(demo_centers).first() is None
    password_hash = hash_password(password)  # one hash for all demo accounts: they share the password
    if created:
        _create(session, password_hash, now, paperwork)
    centers = {c.id: c.name for c in session.exec(demo_centers).all()}
    accounts = []
    demo_staff = select(Staff).where(or_(col(Staff.center_id).in_(list(centers)), col(Staff.username) == "admin"))
    for staff in session.exec(demo_staff.order_by(col(Staff.id))).all():
        staff.password_hash = password_hash
        staff.active = True
        session.add(staff)
        accounts.append(DemoAccount(staff.username, Role(staff.role), centers.get(staff.center_id)))
    counts = {
        name: session.exec(select(func.count()).where(Resident.center_id == cid)).one() for cid, name in centers.items()
    }
    center_ids = [cid for cid in centers if cid is not None]
    for center in session.exec(select(Center).where(col(Center.id).in_(center_ids))).all():
        ensure_roster(session, center=center, now=now)
    gateways = gateway_keys(session, center_ids=center_ids, now=now)
    session.flush()
    generate_all_visits(session, now=now, rules=rules or VisitRules())  # two weeks ahead, never twice
    _visits_for_the_worker_today(session, now=now)
    watches = demo_watches(session, center_ids=center_ids)
    trackers = demo_watches(session, center_ids=center_ids, protocol=DeviceProtocol.gt06)
    return DemoSummary(
        created=created, centers=counts, accounts=accounts, gateways=gateways, watches=watches, trackers=trackers
    )
