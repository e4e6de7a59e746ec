"""Seeding the demo: two town centers with staff, residents and family contacts.

Phone numbers: mainland China has no officially fictional range, so every demo number lies in
the 170-0000 block (valid in form, assigned to nobody we know of) and the demo only ever uses
the console sender. Everything is made up; a fixed random seed keeps it the same each run.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from carecenter.auth.passwords import hash_password
from carecenter.centers.models import Center
from carecenter.demo import data
from carecenter.demo.data import Town
from carecenter.fields import national_id_check_char
from carecenter.residents.models import (
    CareLevel,
    FamilyContact,
    Gender,
    LivingSituation,
    Mobility,
    Relation,
    Resident,
)
from carecenter.staff.models import Language, Role, Staff

FANGSHAN_REGION_CODE = "110111"


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
    return Resident(
        center_id=center_id,
        name=rng.choice(data.SURNAMES) + rng.choice(given),
        gender=gender,
        birth_date=birth,
        national_id=_national_id(rng, birth, gender),
        phone=phones() if rng.random() < 0.7 else None,
        address=f"北京市{town.district}{town.town}{rng.choice(town.places)}{rng.randint(1, 120)}号",
        latitude=round(town.latitude + rng.uniform(-0.03, 0.03), 6),
        longitude=round(town.longitude + rng.uniform(-0.04, 0.04), 6),
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
                created_at=now,
            )
        )
    return contacts


def _create(session: Session, password_hash: str, now: datetime) -> None:
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
            latitude=town.latitude,
            longitude=town.longitude,
            phone=phones(),
            time_zone="Asia/Shanghai",
            created_at=now,
        )
        session.add(center)
        session.flush()
        assert center.id is not None
        session.add(
            Staff(
                name=rng.choice(data.SURNAMES) + rng.choice(data.WORKER_GIVEN),
                phone=phones(),
                username=town.manager,
                role=Role.manager,
                center_id=center.id,
                password_hash=password_hash,
                created_at=now,
            )
        )
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
        for resident in residents:
            session.add_all(_contacts(rng, phones, resident, now))


def seed_demo(*, session: Session, password: str, now: datetime) -> DemoSummary:
    """Create the demo centers once; on every run, set every demo account's password."""
    names = [town.center_name for town in data.TOWNS]
    demo_centers = select(Center).where(col(Center.name).in_(names))
    created = session.exec(demo_centers).first() is None
    password_hash = hash_password(password)  # one hash for all demo accounts: they share the password
    if created:
        _create(session, password_hash, now)
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
    return DemoSummary(created=created, centers=counts, accounts=accounts)
