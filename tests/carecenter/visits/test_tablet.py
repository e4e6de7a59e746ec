"""The tablet at the door, server side: queued actions (idempotency keys, device times, the time
window, conflicts kept for the manager), photos (consent, EXIF stripped, resized, access, storage
on disk and in S3), the confirmation, medication, retention."""

import base64
import io
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session, col, func, select

from carecenter.access import Role
from carecenter.audit.models import AuditEvent
from carecenter.catalogue.models import ServiceOffering
from carecenter.context import app_context
from carecenter.readings.models import Reading
from carecenter.visits import proof
from carecenter.visits.models import ClientAction, Visit, VisitPhoto
from carecommon.clock import get_now
from notifications.models import SmsMessage
from tests.carecenter.alerts.scenario import Scenario, build
from tests.conftest import Clock
from tests.factories import jpeg_bytes, login, make_center, make_photo, make_plan, make_resident, make_staff, make_visit

TASKS = [{"service": "meals", "done": False}, {"service": "bathing", "done": False}]


def _action(kind: str, visit_id: int, at: datetime, **data: Any) -> dict[str, Any]:
    return {
        "key": uuid.uuid4().hex,
        "kind": kind,
        "visit_id": visit_id,
        "at": at.isoformat(),
        "offline": True,
        "data": data,
    }


def _send(client: TestClient, headers: dict[str, str], actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = client.post("/api/v1/tablet/actions", json={"actions": actions}, headers=headers)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()
    return results


def _visit(session: Session, s: Scenario, clock: Clock, **overrides: Any) -> Visit:
    return make_visit(
        session, resident=s.resident, start=clock.now - timedelta(hours=3), worker_id=s.worker.id, **overrides
    )


def gps_jpeg(size: tuple[int, int] = (2400, 1200)) -> bytes:
    """A photo as a phone writes it: with the camera's make and a GPS position in its EXIF."""
    image = Image.new("RGB", size, (90, 140, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (39.0, 45.0, 36.0), 3: "E", 4: (116.0, 12.0, 36.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_visit_done_offline_arrives_once_at_the_tablets_times(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    visit = _visit(session, s, clock, tasks=TASKS)
    headers = login(client, s.worker)
    began = clock.now - timedelta(hours=3)
    actions = [
        _action("check_in", visit.id or 0, began, latitude=39.7601, longitude=116.2101),
        _action("task", visit.id or 0, began + timedelta(minutes=5), service="meals", done=True),
        _action("task", visit.id or 0, began + timedelta(minutes=6), service="bathing", done=False, reason="停水"),
        _action("vitals", visit.id or 0, began + timedelta(minutes=10), heart_rate=72, systolic=128),
        _action("notes", visit.id or 0, began + timedelta(minutes=20), notes="午饭吃完了"),
        _action("check_out", visit.id or 0, began + timedelta(minutes=40)),
    ]
    assert [r["result"] for r in _send(client, headers, actions)] == ["done"] * 6
    assert [r["result"] for r in _send(client, headers, actions)] == ["duplicate"] * 6  # the queue sent again
    session.expire_all()
    done = session.get(Visit, visit.id)
    assert done is not None and done.status == "completed" and done.recorded_offline
    assert (done.checked_in_at, done.checked_out_at) == (began, began + timedelta(minutes=40))
    assert done.check_in_received_at == clock.now and done.notes == "午饭吃完了"
    assert [t.done for t in done.tasks] == [True, False] and done.tasks[1].reason == "停水"
    readings = session.exec(select(Reading).where(Reading.resident_id == s.resident.id)).all()
    assert [(r.heart_rate, r.recorded_at, r.received_at) for r in readings] == [
        (72, began + timedelta(minutes=10), clock.now)
    ]


def test_times_outside_the_window_are_refused_and_kept_for_the_manager(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    visit = _visit(session, s, clock)
    headers = login(client, s.worker)
    stale = _action("notes", visit.id or 0, clock.now - timedelta(hours=25), notes="昨天的")
    ahead = _action("notes", visit.id or 0, clock.now + timedelta(minutes=10), notes="未来的")
    results = _send(client, headers, [stale, ahead])
    assert [r["result"] for r in results] == ["refused", "refused"]
    assert "at" in results[0]["fields"]
    session.expire_all()
    kept = session.get(Visit, visit.id)
    assert kept is not None and kept.notes == ""
    assert [n.entered["notes"] for n in kept.conflict_notes] == ["昨天的", "未来的"]


def test_a_visit_given_to_someone_else_meanwhile_keeps_what_was_entered(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    visit = _visit(session, s, clock)
    other = make_staff(session, center=s.center)
    visit.worker_id = other.id  # reassigned while the tablet had no signal
    session.add(visit)
    session.commit()
    headers = login(client, s.worker)
    results = _send(
        client, headers, [_action("notes", visit.id or 0, clock.now - timedelta(minutes=30), notes="门锁坏了")]
    )
    assert results[0]["result"] == "conflict" and results[0]["message"]
    session.expire_all()
    kept = session.get(Visit, visit.id)
    assert kept is not None and kept.notes == ""
    (note,) = kept.conflict_notes
    assert (note.entered, note.worker, note.kind) == ({"notes": "门锁坏了"}, s.worker.name, "notes")
    page = client.get(f"/api/v1/visits/{visit.id}", headers=login(client, s.manager)).json()
    assert page["conflict_notes"][0]["entered"]["notes"] == "门锁坏了"


def test_photos_need_consent_lose_their_metadata_and_stay_in_the_center(
    client: TestClient, session: Session, clock: Clock, app: FastAPI
) -> None:
    s = build(session, clock.now)
    visit = _visit(session, s, clock, status="in_progress", checked_in_at=clock.now)
    headers = login(client, s.worker)
    upload = {"photo": ("p.jpg", gps_jpeg(), "image/jpeg")}
    refused = client.post(f"/api/v1/visits/{visit.id}/photos", files=upload, headers=headers)
    assert refused.status_code == 409  # no consent yet
    s.resident.consent_service_photos = True
    session.add(s.resident)
    session.commit()
    made = client.post(f"/api/v1/visits/{visit.id}/photos", files=upload, headers=headers)
    assert made.status_code == 201, made.text
    assert (made.json()["width"], made.json()["height"]) == (1600, 800)
    stored = client.get(f"/api/v1/photos/{made.json()['id']}", headers=headers)
    assert stored.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(stored.content))
    assert dict(image.getexif()) == {} and image.size == (1600, 800)  # no GPS, no camera: nothing
    not_image = client.post(
        f"/api/v1/visits/{visit.id}/photos",
        files={"photo": ("x.jpg", b"GIF89a not really", "image/jpeg")},
        headers=headers,
    )
    assert not_image.status_code == 422 and "JPEG" in not_image.text
    elsewhere = login(client, make_staff(session, center=make_center(session), role=Role.manager))
    assert client.get(f"/api/v1/photos/{made.json()['id']}", headers=elsewhere).status_code == 404
    views = session.exec(select(AuditEvent).where(AuditEvent.action == "visit.photo.view")).all()
    assert len(views) == 1 and views[0].actor_id == s.worker.id


def test_photos_in_an_s3_compatible_bucket(
    session: Session, clock: Clock, database_url: str, db: Any, monkeypatch: Any
) -> None:
    """boto3 against a local S3-compatible server (moto in server mode), as a district would run it:
    the store on its own, then a photo through the API of an app configured for the bucket."""
    import boto3  # type: ignore[import-untyped]
    from moto.server import ThreadedMotoServer

    from carecenter.media.settings import MediaSettings
    from carecenter.media.store import S3Store
    from tests.conftest import make_app, make_settings

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
            monkeypatch.setenv(name, value)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket="carecenter-media")
        store = S3Store(s3, "carecenter-media", "test/")
        key = store.put(jpeg_bytes())
        assert store.get(key) == jpeg_bytes() and list(store.keys()) == [key]
        assert store.put(jpeg_bytes()) == key  # the same bytes: the same object
        store.delete(key)
        assert list(store.keys()) == []

        media = MediaSettings(
            media_s3_bucket="carecenter-media", media_s3_endpoint_url=endpoint, media_s3_region="us-east-1"
        )
        app = make_app(make_settings(database_url, media=media))
        s = build(session, clock.now)
        s.resident.consent_service_photos = True
        session.add(s.resident)
        session.commit()
        visit = _visit(session, s, clock, status="in_progress", checked_in_at=clock.now)
        with TestClient(app, base_url="https://testserver") as client:
            headers = login(client, s.worker)
            made = client.post(
                f"/api/v1/visits/{visit.id}/photos",
                files={"photo": ("p.jpg", gps_jpeg(), "image/jpeg")},
                headers=headers,
            )
            assert made.status_code == 201, made.text
            photo = session.get(VisitPhoto, made.json()["id"])
            assert photo is not None
            body = s3.get_object(Bucket="carecenter-media", Key="carecenter/" + photo.media_key)["Body"].read()
            assert client.get(f"/api/v1/photos/{photo.id}", headers=headers).content == body
    finally:
        server.stop()


def test_medication_is_recorded_before_check_out_and_a_refused_critical_dose_is_told(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    medications = [
        {"name": "氨氯地平", "dose": "5 mg", "route": "oral", "times": ["09:00"], "critical": True},
        {"name": "钙片", "dose": "1 片", "route": "oral", "times": ["20:00"]},
    ]
    plan = make_plan(
        session,
        resident=s.resident,
        medications=medications,
        starts_on=clock.now.date(),
        preferred_worker_id=s.worker.id,
    )
    manager = login(client, s.manager)
    assert client.patch(f"/api/v1/care-plans/{plan.id}", json={"notes": "x"}, headers=manager).status_code == 200
    visits = session.exec(select(Visit).where(Visit.care_plan_id == plan.id).order_by(col(Visit.scheduled_start))).all()
    assert visits and [m.name for m in visits[0].medications] == ["氨氯地平"]  # 09:00 visits: the 09:00 dose
    visit = visits[0]
    headers = login(client, s.worker)
    clock.now = visit.scheduled_start
    headers = login(client, s.worker)
    client.post(f"/api/v1/visits/{visit.id}/check-in", json={}, headers=headers)
    refused = client.post(f"/api/v1/visits/{visit.id}/check-out", json={}, headers=headers)
    assert refused.status_code == 409 and "氨氯地平" in refused.text
    no_reason = client.post(
        f"/api/v1/visits/{visit.id}/medications", json={"index": 0, "outcome": "refused"}, headers=headers
    )
    assert no_reason.status_code == 422
    done = client.post(
        f"/api/v1/visits/{visit.id}/medications",
        json={"index": 0, "outcome": "refused", "reason": "说头晕不肯吃"},
        headers=headers,
    )
    assert done.status_code == 200 and done.json()["medications"][0]["outcome"] == "refused"
    told = session.exec(select(SmsMessage).where(col(SmsMessage.dedupe_key).contains(":medication:"))).all()
    assert told and all("氨氯地平" in m.body for m in told)
    assert client.post(f"/api/v1/visits/{visit.id}/check-out", json={}, headers=headers).status_code == 200
    record = client.get(f"/api/v1/residents/{s.resident.id}/medications", headers=headers).json()
    assert [(r["name"], r["outcome"], r["reason"]) for r in record] == [("氨氯地平", "refused", "说头晕不肯吃")]


def test_a_service_that_needs_confirmation_waits_for_the_signature(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    bathing = session.exec(
        select(ServiceOffering).where(ServiceOffering.center_id == s.center.id, ServiceOffering.code == "bathing")
    ).one()
    bathing.confirmation_required = True
    session.add(bathing)
    session.commit()
    visit = _visit(
        session, s, clock, tasks=[{"service": "bathing", "done": True}], status="in_progress", checked_in_at=clock.now
    )
    headers = login(client, s.worker)
    waiting = client.post(f"/api/v1/visits/{visit.id}/check-out", json={}, headers=headers)
    assert waiting.status_code == 409
    png = io.BytesIO()
    Image.new("RGBA", (300, 100), (0, 0, 0, 0)).save(png, "PNG")
    signature = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    no_reason = {"kind": "could_not_sign", "signer": "王秀英"}
    assert client.post(f"/api/v1/visits/{visit.id}/confirmation", json=no_reason, headers=headers).status_code == 422
    signed = client.post(
        f"/api/v1/visits/{visit.id}/confirmation",
        json={"kind": "signature", "signer": "王秀英", "signature_png": signature},
        headers=headers,
    )
    assert signed.status_code == 200 and signed.json()["confirmation"] == "signature"
    assert client.get(f"/api/v1/visits/{visit.id}/signature", headers=headers).content.startswith(b"\x89PNG")
    assert client.post(f"/api/v1/visits/{visit.id}/check-out", json={}, headers=headers).status_code == 200


def test_photos_are_deleted_after_the_centers_retention_period(session: Session, app: FastAPI) -> None:
    center = make_center(session, photo_retention_days=90)
    resident = make_resident(session, center=center, consent_service_photos=True)
    now = datetime(2026, 11, 24, tzinfo=UTC)
    visit = make_visit(session, resident=resident, start=now - timedelta(days=100))
    store = app_context(app).media
    old = make_photo(session, visit=visit, store=store, created_at=now - timedelta(days=91))
    fresh = make_photo(
        session, visit=visit, store=store, created_at=now - timedelta(days=10), media_key=store.put(gps_jpeg((50, 50)))
    )
    assert proof.purge_expired_photos(session, store=store, now=now) == 1
    session.commit()
    session.refresh(old)
    assert old.deleted_at == now and fresh.deleted_at is None
    assert fresh.media_key in set(store.keys()) and old.media_key not in set(store.keys())
    deleted = session.exec(select(AuditEvent).where(AuditEvent.action == "visit.photo.delete")).one()
    assert (deleted.entity_id, deleted.reason) == (old.id, "retention")
    assert session.exec(select(VisitPhoto).where(col(VisitPhoto.deleted_at).is_(None))).all() == [fresh]


def test_a_server_that_fails_mid_queue_loses_nothing_and_doubles_nothing(
    app: FastAPI, session: Session, clock: Clock, monkeypatch: Any
) -> None:
    """The process fails after the first action's commit and before the second's: the tablet got no
    answer, keeps its whole queue and sends it again; the first is a duplicate, the rest arrive once."""
    from carecenter.visits import sync

    s = build(session, clock.now)
    visit = _visit(session, s, clock, tasks=TASKS)
    began = clock.now - timedelta(hours=1)
    queue = [
        _action("check_in", visit.id or 0, began),
        _action("notes", visit.id or 0, began + timedelta(minutes=5), notes="一切正常"),
        _action("task", visit.id or 0, began + timedelta(minutes=6), service="meals", done=True),
    ]
    real = sync.apply_action
    calls = {"n": 0}

    def dies_on_the_second(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the process is gone")
        real(*args, **kwargs)

    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        app.dependency_overrides[get_now] = lambda: clock.now
        headers = login(client, s.worker)
        monkeypatch.setattr(sync, "apply_action", dies_on_the_second)
        assert client.post("/api/v1/tablet/actions", json={"actions": queue}, headers=headers).status_code == 500
        monkeypatch.setattr(sync, "apply_action", real)
        again = client.post("/api/v1/tablet/actions", json={"actions": queue}, headers=headers).json()
        app.dependency_overrides.clear()
    assert [r["result"] for r in again] == ["duplicate", "done", "done"]
    done = session.get(Visit, visit.id, populate_existing=True)
    assert done is not None and done.status == "in_progress" and done.notes == "一切正常"
    assert done.tasks[0].done is True
    assert session.exec(select(func.count()).select_from(ClientAction)).one() == 3


def _png_bomb(side: int = 13_000) -> bytes:
    """A PNG of side x side pixels in a few hundred KB (one bit per pixel, all white)."""
    out = io.BytesIO()
    Image.new("1", (side, side), 1).save(out, "PNG", optimize=True)
    return out.getvalue()


def test_an_image_bomb_is_refused_from_its_header_as_photo_and_as_signature(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    s.resident.consent_service_photos = True
    session.add(s.resident)
    session.commit()
    visit = _visit(session, s, clock, status="in_progress", checked_in_at=clock.now)
    headers = login(client, s.worker) | {"Accept-Language": "zh-CN"}
    bomb = _png_bomb()
    assert len(bomb) < 600_000
    tracemalloc.start()
    try:
        photo = client.post(
            f"/api/v1/visits/{visit.id}/photos", files={"photo": ("b.png", bomb, "image/png")}, headers=headers
        )
        signed = client.post(
            f"/api/v1/visits/{visit.id}/confirmation",
            json={"kind": "signature", "signer": "王秀英", "signature_png": base64.b64encode(bomb).decode()},
            headers=headers,
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert photo.status_code == 422 and "2400 万像素" in photo.text
    assert signed.status_code == 422 and "2400 万像素" in signed.text
    assert peak < 60_000_000  # never decoded: 169 megapixels would take gigabytes


def test_a_photo_keeps_no_comment_no_text_and_no_profile(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    s.resident.consent_service_photos = True
    session.add(s.resident)
    session.commit()
    visit = _visit(session, s, clock, status="in_progress", checked_in_at=clock.now)
    headers = login(client, s.worker)
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(
        out, "JPEG", comment=b"shot at 39.76N 116.21E by Zhang", icc_profile=b"x" * 200
    )
    made = client.post(
        f"/api/v1/visits/{visit.id}/photos", files={"photo": ("c.jpg", out.getvalue(), "image/jpeg")}, headers=headers
    )
    assert made.status_code == 201, made.text
    stored = client.get(f"/api/v1/photos/{made.json()['id']}", headers=headers).content
    assert b"Zhang" not in stored and b"39.76" not in stored
    image = Image.open(io.BytesIO(stored))
    assert "comment" not in image.info and "icc_profile" not in image.info and dict(image.getexif()) == {}


def test_conflict_notes_keep_known_fields_cut_capped_and_only_on_the_worker_s_own_visits(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    stranger = make_resident(session, center=s.center)  # not the worker's resident
    other = make_staff(session, center=s.center)
    theirs = make_visit(session, resident=stranger, start=clock.now + timedelta(hours=1), worker_id=other.id)
    mine = _visit(session, s, clock, status="cancelled")  # cancelled: every action on it is a conflict
    headers = login(client, s.worker)
    junk = {"note": "x" * 50_000, "extra": {"deep": ["y" * 10_000] * 5}, "jpeg": "z" * 1000}
    at = clock.now - timedelta(minutes=5)
    for _ in range(6):  # the probe: any JSON appended to a visit that is not theirs
        _send(client, headers, [_action("concern", theirs.id or 0, at, **junk)])
    session.expire_all()
    assert session.get(Visit, theirs.id).conflict_notes == []  # type: ignore[union-attr]
    task = {"service": "meals", "done": False, "reason": "x" * 50_000, "extra": junk["extra"]}
    for _ in range(3):
        results = _send(client, headers, [_action("task", mine.id or 0, at, **task) for _ in range(10)])
        assert {r["result"] for r in results} <= {"conflict", "refused"}  # kept either way: recorded offline
    session.expire_all()
    kept = session.get(Visit, mine.id)
    assert kept is not None and len(kept.conflict_notes) == 20  # capped
    entered = {"service": "meals", "done": False, "reason": "x" * 1000}
    assert kept.conflict_notes[0].entered == entered  # known fields only, cut
    page = client.get(f"/api/v1/visits/{mine.id}", headers=login(client, s.manager))
    assert len(page.content) < 100_000


def test_a_check_out_before_its_check_in_is_refused_and_a_very_early_check_in_is_flagged(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    visit = _visit(session, s, clock)
    headers = login(client, s.worker)
    began = clock.now - timedelta(minutes=10)
    results = _send(
        client,
        headers,
        [
            _action("check_in", visit.id or 0, began, latitude=39.76, longitude=116.21),
            _action("check_out", visit.id or 0, began - timedelta(hours=22), latitude=39.76, longitude=116.21),
        ],
    )
    assert [r["result"] for r in results] == ["done", "refused"]
    assert "at" in results[1]["fields"]
    session.expire_all()
    kept = session.get(Visit, visit.id)
    assert kept is not None and kept.checked_out_at is None and kept.status == "in_progress"
    later = make_visit(session, resident=s.resident, start=clock.now + timedelta(days=3), worker_id=s.worker.id)
    early = client.post(
        f"/api/v1/visits/{later.id}/check-in", json={"latitude": 39.76, "longitude": 116.21}, headers=headers
    )
    assert early.status_code == 200  # allowed, and the manager sees it
    notes = client.get(f"/api/v1/visits/{later.id}", headers=login(client, s.manager)).json()["conflict_notes"]
    assert [n["why"] for n in notes] == ["checked in more than 24 hours before the visit's start"]
