"""Lists sent to PostgreSQL as one array literal (`carecenter.db.array_literal`): every value comes
back as it went, whatever a device put in its text."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from carecenter.db import among, array_literal
from carecenter.devices.models import Device
from tests.factories import make_center, make_device

HOSTILE = [
    "plain",
    "",
    " spaced ",
    "a,b",
    "{x}",
    'q"uote',
    "back\\slash",
    '\\"',
    "NULL",
    "null",
    "表情😀",
    "it's",
    "\t",
]


def test_an_array_literal_reads_back_as_the_values(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("an array literal is PostgreSQL's")
    times = [
        datetime(2026, 12, 7, 3, 4, 5, 678901, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8))),
    ]
    cases: list[tuple[str, list[Any]]] = [
        ("INTEGER[]", [1, -2, 2_147_483_647, None]),
        ("VARCHAR[]", [*HOSTILE, None]),
        ("DOUBLE PRECISION[]", [0.1, -1e-300, 36.6, 1 / 3, None]),
        ("TIMESTAMPTZ[]", [*times, None]),
        ("INTEGER[]", []),
    ]
    for type_, values in cases:
        back = session.execute(
            sa.text(f"SELECT CAST(:values AS {type_})"), {"values": array_literal(values)}
        ).scalar_one()
        assert back == values, type_


def test_among_finds_devices_by_serials_that_need_quoting(session: Session) -> None:
    center = make_center(session)
    for serial in HOSTILE[:8]:
        make_device(session, center=center, serial=serial)
    found = session.exec(select(Device.serial).where(among(session, col(Device.serial), [*HOSTILE, "absent"]))).all()
    assert sorted(found) == sorted(HOSTILE[:8])
