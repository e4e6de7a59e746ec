from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from carecenter.alerts.models import Alert
from carecenter.context import app_context
from carecenter.devices.models import DeviceKind
from carecenter.readings.models import Reading
from carecenter.residents.models import Resident
from tests.carecenter.alerts.scenario import build
from tests.conftest import Clock, make_app, make_settings
from tests.factories import login, make_center, make_device, make_resident, make_staff
from tests.waiting import eventually


def count_readings(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Reading)).one()


def test_a_reading_is_stored_once_whatever_the_retries(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    first = s.post(client, clock.now, "heartbeat", event_id="e-1", heart_rate=72, battery_pct=80)
    assert first.status_code == 201, first.text
    assert first.json()["result"] == "accepted"
    again = s.post(client, clock.now, "heartbeat", event_id="e-1", heart_rate=72, battery_pct=80)
    assert (again.status_code, again.json()["result"]) == (200, "duplicate")
    assert count_readings(session) == 1
    session.refresh(s.watch)
    assert (s.watch.battery_pct, s.watch.last_seen_at) == (80, clock.now)


def test_validation_is_strict_and_names_the_field(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    cases = {
        "heart_rate": True,  # a boolean is not a number
        "spo2": 49,
        "temperature": "36.5",
        "latitude": 91.0,
        "colour": "red",  # unknown fields are refused
    }
    for field, value in cases.items():
        response = s.post(client, clock.now, "vitals", event_id=f"bad-{field}", **{field: value})
        assert response.status_code == 422, field
        assert response.json()["detail"][0]["loc"][-1] == field
    future = s.post(client, clock.now + timedelta(minutes=6), "vitals", event_id="future")
    assert future.status_code == 422
    assert "more than 5 minutes in the future" in future.text
    assert s.post(client, clock.now + timedelta(minutes=4), "vitals", event_id="ok").status_code == 201
    naive = client.post(
        "/api/v1/checkins",
        json={"event_id": "n", "kind": "sos", "recorded_at": "2026-11-24T10:00:00"},
        headers={"X-Device-Key": s.key},
    )
    assert naive.status_code == 422
    assert count_readings(session) == 1


def test_keys_are_required_and_revocable(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    body = {"event_id": "x", "kind": "heartbeat", "recorded_at": clock.now.isoformat()}
    assert client.post("/api/v1/checkins", json=body).status_code == 401
    assert client.post("/api/v1/checkins", json=body, headers={"X-Device-Key": "dk_guess"}).status_code == 401
    headers = login(client, s.manager)
    assert client.post(f"/api/v1/devices/{s.watch.id}/revoke", headers=headers).status_code == 200
    assert s.post(client, clock.now, "heartbeat").status_code == 401
    rotated = client.post(f"/api/v1/devices/{s.watch.id}/rotate-key", headers=headers).json()
    assert rotated["device_key"].startswith("dk_") and rotated["revoked_at"] is None
    assert (
        client.post("/api/v1/checkins", json=body, headers={"X-Device-Key": rotated["device_key"]}).status_code == 201
    )


def test_a_batch_answers_item_by_item(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    good = {"event_id": "b-1", "kind": "vitals", "recorded_at": clock.now.isoformat(), "heart_rate": 70}
    items = [
        good,
        good,  # the same event twice in one batch
        {"event_id": "b-2", "kind": "vitals", "recorded_at": clock.now.isoformat(), "heart_rate": 300},
        {"event_id": "b-3", "kind": "teleport", "recorded_at": clock.now.isoformat()},
        "not even an object",
        {"event_id": "b-4", "kind": "heartbeat", "recorded_at": clock.now.isoformat(), "device": "SN-OTHER"},
        {"event_id": "b-5", "kind": "heartbeat", "recorded_at": clock.now.isoformat()},
    ]
    response = client.post("/api/v1/checkins/batch", json={"readings": items}, headers={"X-Device-Key": s.key})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 1, 4)
    results = [(r["index"], r["result"]) for r in body["results"]]
    assert results == [
        (0, "accepted"),
        (1, "duplicate"),
        (2, "rejected"),
        (3, "rejected"),
        (4, "rejected"),
        (5, "rejected"),
        (6, "accepted"),
    ]
    assert "heart_rate" in body["results"][2]["reason"]
    assert "posts only for device" in body["results"][5]["reason"]
    assert count_readings(session) == 2


def test_batches_are_capped_at_1000(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    items = [{"event_id": f"c-{n}", "kind": "heartbeat", "recorded_at": clock.now.isoformat()} for n in range(1001)]
    response = client.post("/api/v1/checkins/batch", json={"readings": items}, headers={"X-Device-Key": s.key})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "readings"]


def test_a_gateway_posts_for_its_own_center_only(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    _gateway, gateway_key = make_device(session, center=s.center, kind=DeviceKind.gateway)
    elsewhere = make_center(session)
    foreign, _ = make_device(session, center=elsewhere, resident=make_resident(session, center=elsewhere))
    at = clock.now.isoformat()
    items = [
        {"event_id": "g-1", "device": s.watch.serial, "kind": "heartbeat", "recorded_at": at},
        {"event_id": "g-2", "device": foreign.serial, "kind": "heartbeat", "recorded_at": at},
        {"event_id": "g-3", "kind": "heartbeat", "recorded_at": at},
    ]
    body = client.post("/api/v1/checkins/batch", json={"readings": items}, headers={"X-Device-Key": gateway_key}).json()
    assert [r["result"] for r in body["results"]] == ["accepted", "rejected", "rejected"]
    assert "not registered in this gateway's center" in body["results"][1]["reason"]
    assert "a gateway must name the device" in body["results"][2]["reason"]
    stored = session.exec(select(Reading)).one()
    assert (stored.device_id, stored.resident_id) == (s.watch.id, s.resident.id)


def test_without_consent_health_values_and_locations_are_not_kept(
    client: TestClient, session: Session, clock: Clock
) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center, consent_health_data=False, consent_location_data=False)
    _, key = make_device(session, center=center, resident=resident)
    body = {
        "event_id": "p-1",
        "kind": "vitals",
        "recorded_at": clock.now.isoformat(),
        "heart_rate": 70,
        "latitude": 39.7,
        "longitude": 116.2,
        "battery_pct": 50,
    }
    assert client.post("/api/v1/checkins", json=body, headers={"X-Device-Key": key}).status_code == 201
    stored = session.exec(select(Reading)).one()
    assert (stored.heart_rate, stored.latitude, stored.longitude, stored.battery_pct) == (None, None, None, 50)


def test_readings_for_charts_are_scoped_and_filtered(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    for minutes in range(3):
        s.post(
            client, clock.now - timedelta(minutes=minutes), "vitals", event_id=f"v{minutes}", heart_rate=70 + minutes
        )
    s.post(client, clock.now, "heartbeat", event_id="hb")
    headers = login(client, s.worker)
    url = f"/api/v1/residents/{s.resident.id}/readings"
    vitals = client.get(url, params={"kind": "vitals"}, headers=headers).json()
    assert [r["heart_rate"] for r in vitals["items"]] == [70, 71, 72]
    recent = client.get(url, params={"since": (clock.now - timedelta(seconds=90)).isoformat()}, headers=headers).json()
    assert recent["total"] == 3
    outsider = login(client, make_staff(session, center=make_center(session)))
    assert client.get(url, headers=outsider).status_code == 404


def test_concurrent_batches_over_the_same_residents_do_not_deadlock(
    session: Session, app: Any, database_url: str, clock: Clock
) -> None:
    """Two gateways' batches name the same residents in opposite orders (this deadlocked on PostgreSQL)."""
    import threading

    from carecenter.db import make_engine
    from carecenter.ingest.service import ingest
    from carecenter.ingest.targets import targets_by_id

    center = make_center(session)
    devices = [make_device(session, center=center, resident=make_resident(session, center=center))[0] for _ in range(6)]
    gateway, _ = make_device(session, center=center, kind=DeviceKind.gateway)
    engine = make_engine(database_url)
    errors: list[BaseException] = []

    def post(order: list[Any], tag: str) -> None:
        try:
            for round_ in range(5):
                with Session(engine) as own:
                    poster = targets_by_id(own, {gateway.id or 0})[gateway.id or 0]
                    items = [
                        {
                            "event_id": f"{tag}-{round_}-{d.serial}",
                            "device": d.serial,
                            "kind": "vitals",
                            "recorded_at": clock.now.isoformat(),
                            "heart_rate": 70,
                        }
                        for d in order
                    ]
                    posts = [(poster, item) for item in items]
                    ingest(session=own, messaging=app_context(app).alert_messaging, posts=posts, now=clock.now)
                    own.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=post, args=(devices, "a")),
        threading.Thread(target=post, args=(devices[::-1], "b")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    engine.dispose()
    assert errors == []
    assert count_readings(session) == 2 * 5 * 6


def test_a_database_outage_is_a_503_with_retry_after(tmp_path: Any) -> None:
    unreachable = make_settings("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    with TestClient(make_app(unreachable)) as client:
        response = client.get("/api/v1/residents", headers={"Authorization": "Bearer whatever"})
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
        assert "nothing was saved" in response.json()["detail"]
        body = {"event_id": "x", "kind": "sos", "recorded_at": "2026-11-24T02:00:00+00:00"}
        assert client.post("/api/v1/checkins", json=body, headers={"X-Device-Key": "dk_x"}).status_code == 503


def test_a_batch_runs_the_rules_in_order_and_remembers_across_batches(
    client: TestClient, session: Session, clock: Clock
) -> None:
    """Sustained vitals count readings inside one batch and carry over to the next; a calm one clears."""
    s = build(session, clock.now)
    other = make_resident(session, center=s.center, consent_health_data=True)
    other_watch, _ = make_device(session, center=s.center, resident=other)
    _gateway, gateway_key = make_device(session, center=s.center, kind=DeviceKind.gateway)

    def reading(n: int, serial: str, minutes: int, **values: Any) -> dict[str, Any]:
        at = (clock.now + timedelta(minutes=minutes)).isoformat()
        return {"event_id": f"r-{n}", "device": serial, "kind": "vitals", "recorded_at": at} | values

    first = [
        reading(1, s.watch.serial, -3, heart_rate=150),
        reading(2, other_watch.serial, -3, heart_rate=150),
        reading(3, s.watch.serial, -2, heart_rate=150),
        reading(4, s.watch.serial, -1, heart_rate=150, battery_pct=55),  # third in a row: the alert
        reading(5, s.watch.serial, 0, heart_rate=80, battery_pct=60),  # calm again: it clears
    ]
    body = client.post("/api/v1/checkins/batch", json={"readings": first}, headers={"X-Device-Key": gateway_key})
    assert body.status_code == 200, body.text
    alert_ids = [r["alert_id"] for r in body.json()["results"]]
    assert alert_ids[:3] == [None, None, None] and alert_ids[3] is not None and alert_ids[4] is None
    alert = session.get(Alert, alert_ids[3])
    assert alert is not None
    session.refresh(alert)
    assert (alert.kind, alert.status) == ("heart_rate_high", "auto_cleared")
    session.refresh(s.watch)
    assert (s.watch.last_seen_at, s.watch.battery_pct) == (clock.now, 60)

    # The other resident had one high reading; two more in the next batch make three.
    second = [reading(6, other_watch.serial, -1, heart_rate=151), reading(7, other_watch.serial, 0, heart_rate=152)]
    body = client.post("/api/v1/checkins/batch", json={"readings": second}, headers={"X-Device-Key": gateway_key})
    opened = body.json()["results"][1]["alert_id"]
    assert body.json()["results"][0]["alert_id"] is None and opened is not None
    alert = session.get(Alert, opened)
    assert alert is not None and (alert.resident_id, alert.status, alert.last_value) == (other.id, "open", "152 bpm")


def test_a_large_batch_stores_each_reading_once(client: TestClient, session: Session, clock: Clock) -> None:
    """Large batches take the bulk path (COPY on PostgreSQL): repeats inside and across batches are duplicates."""
    s = build(session, clock.now)
    _gateway, gateway_key = make_device(session, center=s.center, kind=DeviceKind.gateway)
    at = clock.now.isoformat()
    items = [
        {"event_id": f"big-{n}", "device": s.watch.serial, "kind": "heartbeat", "recorded_at": at} for n in range(80)
    ]
    headers = {"X-Device-Key": gateway_key}
    first = client.post("/api/v1/checkins/batch", json={"readings": [*items, items[5]]}, headers=headers).json()
    assert (first["accepted"], first["duplicate"]) == (80, 1)
    assert first["results"][80]["result"] == "duplicate"
    assert len({r["reading_id"] for r in first["results"][:80]}) == 80
    again = client.post("/api/v1/checkins/batch", json={"readings": items[70:]}, headers=headers).json()
    assert (again["accepted"], again["duplicate"]) == (0, 10)
    assert count_readings(session) == 80


def test_a_device_seen_before_has_its_last_sign_of_life_written_within_seconds(
    client: TestClient, session: Session, clock: Clock
) -> None:
    """After its first reading a device's last sign of life and battery are written once a second
    for all check-ins together (ingest.sightings), single and batch alike; a late reading never
    moves them back."""
    s = build(session, clock.now)
    gateway, gateway_key = make_device(session, center=s.center, kind=DeviceKind.gateway)
    first_at = clock.now
    assert s.post(client, first_at, "heartbeat", event_id="first", battery_pct=90).status_code == 201
    session.refresh(s.watch)
    assert (s.watch.last_seen_at, s.watch.battery_pct) == (first_at, 90)  # the first: in its own transaction

    later = clock.advance(minutes=5)
    newest = {"event_id": "later", "kind": "heartbeat", "recorded_at": later.isoformat(), "battery_pct": 70}
    batch = client.post(
        "/api/v1/checkins/batch",
        json={"readings": [newest | {"device": s.watch.serial}]},
        headers={"X-Device-Key": gateway_key},
    )
    assert batch.json()["accepted"] == 1

    def written() -> tuple[Any, ...]:
        session.expire_all()
        return s.watch.last_seen_at, s.watch.battery_pct, s.watch.gateway_id

    assert eventually(lambda: written()[0] == later, seconds=5)  # no flush asked for: the writer's second
    assert written() == (later, 70, gateway.id)
    late = later - timedelta(minutes=2)
    assert s.post(client, late, "heartbeat", event_id="late", battery_pct=20).status_code == 201
    app_context(client.app).checkins.write_sightings().result(10)
    assert written() == (later, 70, gateway.id)  # a late reading moves nothing back


def test_the_rules_read_a_resident_as_another_process_just_changed_them(
    client: TestClient, session: Session, database_url: str, clock: Clock
) -> None:
    """A process keeps what the rules read of each resident (alerts.assess) with the row's version:
    a change made anywhere (here through another connection, as another process or an admin
    would) is what the next reading is judged by."""
    from carecenter.db import make_engine

    s = build(session, clock.now)
    elsewhere = make_engine(database_url)

    def change(**values: Any) -> None:
        with elsewhere.begin() as conn:
            conn.execute(sa.update(Resident).where(col(Resident.id) == s.resident.id).values(**values))

    def heart_rates() -> list[int | None]:
        rows = session.exec(select(Reading.heart_rate).where(Reading.kind == "vitals").order_by(col(Reading.id)))
        return list(rows.all())

    try:
        first = s.post(client, clock.now, "vitals", event_id="v1", heart_rate=150)
        assert first.json()["alert_id"] is None  # one high value is not yet an alert
        change(alert_thresholds={"sustain_readings": 1})  # this resident: one reading out of range is enough
        assert s.post(client, clock.advance(minutes=1), "vitals", event_id="v2", heart_rate=150).json()["alert_id"]
        change(consent_health_data=False)
        s.post(client, clock.advance(minutes=1), "vitals", event_id="v3", heart_rate=72)
        assert heart_rates() == [150, 150, None]  # no consent, no value kept
    finally:
        elsewhere.dispose()
