"""Device profiles: admins edit them through the API, the listeners read them, the silence sweep follows them."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.access import Role
from carecenter.alerts import service as alerts_service
from carecenter.alerts.models import Alert
from carecenter.context import app_context
from carecenter.devices.models import DeviceMedia, DeviceProfile, DeviceProtocol
from carecenter.devices.watch_protocol import WATCH
from carecenter.gateway.listener import DeviceListener
from carecenter.readings.models import Reading
from carecenter.settings.devices import DeviceSettings
from carecenter.staff.models import Staff
from tests.carecenter.alerts.scenario import build
from tests.carecenter.devices.watch_client import Watch, position
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import login, make_center, make_device, make_device_media, make_resident, make_staff


@pytest.fixture
def listener(app: FastAPI, clock: Clock) -> Iterator[DeviceListener]:
    listener = DeviceListener(
        protocol=WATCH,
        engine=app_context(app).engine,
        checkins=app_context(app).checkins,
        settings=DeviceSettings(watch_port=0, watch_host="127.0.0.1"),
        clock=lambda: clock.now,
    )
    listener.start()
    yield listener
    listener.stop()


def test_admins_edit_profiles_and_everyone_else_reads_or_is_refused(client: TestClient, session: Session) -> None:
    center = make_center(session)
    admin = login(client, make_staff(session, center=None, role=Role.admin))
    manager = login(client, make_staff(session, center=center, role=Role.manager))
    listed = client.get("/api/v1/device-profiles", headers=manager).json()
    assert {(p["protocol"], p["id"]) for p in listed} >= {("gt06", None), ("watch-tcp", None)}  # the defaults
    gt06 = next(p for p in listed if p["protocol"] == "gt06")
    assert gt06["alarm_codes"]["alarm:1"] == "sos"
    body = {
        "protocol": "gt06",
        "model": "EV-07",
        "clock": "local",
        "alarm_codes": {"alarm:1": "ignore", "alarm:19": "removed"},
        "reports_falls": False,
        "silent_after_minutes": 90,
    }
    assert client.put("/api/v1/device-profiles", json=body, headers=manager).status_code == 403
    saved = client.put("/api/v1/device-profiles", json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["alarm_codes"]["alarm:19"] == "removed"
    assert saved.json()["alarm_codes"]["alarm:35"] == "fall"  # the protocol's codes stay under the model's
    again = client.put("/api/v1/device-profiles", json=body | {"silent_after_minutes": 120}, headers=admin)
    assert again.json()["id"] == saved.json()["id"] and again.json()["silent_after_minutes"] == 120
    pendant, _ = make_device(session, center=center, protocol="gt06", model="EV-07")
    mine = client.get(f"/api/v1/devices/{pendant.id}/profile", headers=manager).json()
    assert (mine["model"], mine["clock"], mine["reports_falls"]) == ("EV-07", "local", False)
    manager_staff = session.exec(select(Staff).where(Staff.center_id == center.id)).one()
    web_login(client, manager_staff.username)
    page = client.get(f"/manage/devices/{pendant.id}")
    assert page.status_code == 200 and "EV-07" in page.text and "Asia/Shanghai" in page.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"alarm_codes": {"alarm:1": "panic"}}, "alarm_codes"),
        ({"alarm_codes": {"": "sos"}}, "alarm_codes"),
        ({"clock_zone": "Mars/Olympus"}, "clock_zone"),
        ({"silent_after_minutes": 0}, "silent_after_minutes"),
        ({"protocol": "carrier-pigeon"}, "protocol"),
        ({"upload_interval_seconds": "often"}, "upload_interval_seconds"),
    ],
)
def test_a_bad_profile_is_refused_field_by_field_in_the_user_s_language(
    client: TestClient, session: Session, change: dict[str, object], field: str
) -> None:
    admin = login(client, make_staff(session, center=None, role=Role.admin)) | {"Accept-Language": "zh-CN"}
    answer = client.put("/api/v1/device-profiles", json={"protocol": "gt06"} | change, headers=admin)
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["detail"]
    assert error["loc"][-1] == field or field in error["loc"]
    if change.get("alarm_codes") == {"alarm:1": "panic"}:
        assert "alarm:1" in error["msg"] and "请从以下选项中选择" in error["msg"]  # the code, the meanings, in Chinese


def test_deleting_a_profile_falls_back_to_the_protocol_s(client: TestClient, session: Session) -> None:
    admin = login(client, make_staff(session, center=None, role=Role.admin))
    client.put("/api/v1/device-profiles", json={"protocol": "gt06", "model": "X3", "clock": "local"}, headers=admin)
    gone = client.delete("/api/v1/device-profiles", params={"protocol": "gt06", "model": "X3"}, headers=admin)
    assert gone.status_code == 204
    again = client.delete("/api/v1/device-profiles", params={"protocol": "gt06", "model": "X3"}, headers=admin)
    assert again.status_code == 404


def test_a_watch_whose_model_keeps_china_time_has_its_alarm_stored_at_the_right_moment(
    listener: DeviceListener, session: Session, client: TestClient, clock: Clock
) -> None:
    s = build(session, clock.now)
    s.watch.serial, s.watch.protocol, s.watch.model = "9081000548", DeviceProtocol.watch_tcp, "Q50"
    session.add(s.watch)
    session.commit()
    admin = login(client, make_staff(session, center=None, role=Role.admin))
    client.put(
        "/api/v1/device-profiles", json={"protocol": "watch-tcp", "model": "Q50", "clock": "local"}, headers=admin
    )
    assert listener.port is not None
    watch = Watch(listener.port, "9081000548")
    beijing = clock.now + timedelta(hours=8) - timedelta(minutes=2)  # the alarm 2 minutes ago, on a China clock
    watch.send(position("AL", beijing, status=1 << 16), vendor="SG")
    assert watch.receive().content == b"AL"
    session.expire_all()
    stored = session.exec(select(Reading).order_by(col(Reading.id))).all()
    assert [(r.kind, r.recorded_at) for r in stored] == [
        ("location", clock.now - timedelta(minutes=2)),
        ("sos", clock.now - timedelta(minutes=2)),
    ]


def test_silence_follows_the_model_s_profile(client: TestClient, session: Session, app: FastAPI, clock: Clock) -> None:
    center = make_center(session)
    admin = login(client, make_staff(session, center=None, role=Role.admin))
    client.put(
        "/api/v1/device-profiles",
        json={"protocol": "gt06", "model": "hourly-pendant", "silent_after_minutes": 150},
        headers=admin,
    )
    client.put("/api/v1/device-profiles", json={"protocol": "gt06", "silent_after_minutes": 15}, headers=admin)
    pendant, _ = make_device(
        session, center=center, resident=make_resident(session, center=center), protocol="gt06", model="hourly-pendant"
    )
    tracker, _ = make_device(
        session, center=center, resident=make_resident(session, center=center), protocol="gt06", model="other"
    )
    for device in (pendant, tracker):
        device.last_seen_at = clock.now - timedelta(minutes=70)
        device.reporting_interval_seconds = 3600  # by the center's rule neither is silent yet (2 h + grace)
        session.add(device)
    session.commit()
    with Session(app_context(app).engine) as own:
        assert alerts_service.detect_silent_devices(own, app_context(app).alert_messaging, now=clock.now) == 1
        own.commit()
    silent = session.exec(select(Alert).where(Alert.kind == "device_silent")).one()
    assert silent.device_id == tracker.id  # the protocol's 15 minutes; the pendant's own 150 not yet


def test_voice_messages_and_photos_download_with_an_audit_and_stay_in_their_center(
    client: TestClient, session: Session, app: FastAPI
) -> None:
    center, elsewhere = make_center(session), make_center(session)
    watch, _ = make_device(session, center=center, protocol="watch-tcp")
    voice = make_device_media(session, device=watch, store=app_context(app).media)
    worker = login(client, make_staff(session, center=center, role=Role.care_worker))
    listed = client.get(f"/api/v1/devices/{watch.id}/media", headers=worker).json()
    assert [(m["id"], m["kind"], m["content_type"]) for m in listed["items"]] == [(voice.id, "voice", "audio/amr")]
    got = client.get(f"/api/v1/devices/{watch.id}/media/{voice.id}", headers=worker)
    assert got.status_code == 200 and got.content.startswith(b"#!AMR")
    assert got.headers["content-type"] == "audio/amr" and "attachment" in got.headers["content-disposition"]
    manager_staff = make_staff(session, center=center, role=Role.manager)
    manager = login(client, manager_staff)
    web_login(client, manager_staff.username)
    page = client.get(f"/manage/devices/{watch.id}")
    assert f"/manage/devices/{watch.id}/media/{voice.id}" in page.text
    assert client.get(f"/manage/devices/{watch.id}/media/{voice.id}").content == got.content
    stranger = login(client, make_staff(session, center=elsewhere, role=Role.manager))
    assert client.get(f"/api/v1/devices/{watch.id}/media/{voice.id}", headers=stranger).status_code == 404
    other, _ = make_device(session, center=center, protocol="watch-tcp")
    assert client.get(f"/api/v1/devices/{other.id}/media/{voice.id}", headers=worker).status_code == 404
    audits = client.get("/api/v1/audit-events", headers=manager).json()["items"]
    assert sum(a["action"] == "device.media.view" for a in audits) == 2
    assert session.exec(select(DeviceMedia)).all()


def test_an_admin_edits_a_profile_on_its_page_and_a_bad_line_is_shown_next_to_its_field(
    client: TestClient, session: Session
) -> None:
    admin = make_staff(session, center=None, role=Role.admin)
    csrf = web_login(client, admin.username)
    listed = client.get("/manage/devices/profiles")
    assert listed.status_code == 200 and "alarm:35" in listed.text  # the built-in GT06 default
    form = client.get("/manage/devices/profiles/form", params={"protocol": "gt06", "model": ""})
    assert 'name="alarm_codes"' in form.text and "alarm:1=sos" in form.text
    values = {"csrf": csrf, "protocol": "gt06", "model": "P-10", "upload_interval_seconds": "3600", "clock": "local"}
    bad = client.post("/manage/devices/profiles/form", data=values | {"alarm_codes": "alarm:1=sos\nalarm:19=taken-off"})
    assert bad.status_code == 422
    assert "请从以下选项中选择" in bad.text and "alarm:19=taken-off" in bad.text  # the words, and what was typed kept
    saved = client.post(
        "/manage/devices/profiles/form",
        data=values | {"alarm_codes": "alarm:19=removed, alarm:3=ignore", "reports_falls": "1"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    row = session.exec(select(DeviceProfile).where(DeviceProfile.model == "P-10")).one()
    assert (row.upload_interval_seconds, row.clock, row.alarm_codes) == (
        3600,
        "local",
        {"alarm:19": "removed", "alarm:3": "ignore"},
    )
    assert "P-10" in client.get("/manage/devices/profiles").text
