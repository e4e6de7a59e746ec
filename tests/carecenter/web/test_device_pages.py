"""Device pages: protocol and connection, commands to a watch, unknown ids, SOS numbers after a contact change."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.access import Role
from carecenter.devices.models import DeviceCommand, DeviceProtocol, UnknownDevice
from carecenter.geo import to_gcj02
from carecenter.residents.models import Resident
from tests.carecenter.alerts.scenario import Scenario, build
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import make_staff

IMEI = "358688000000158"


def watch_scenario(session: Session, clock: Clock) -> Scenario:
    s = build(session, clock.now)
    s.watch.serial, s.watch.protocol = IMEI, DeviceProtocol.watch_tcp
    s.watch.connected_at, s.watch.last_frame_at, s.watch.last_frame = clock.now, clock.now, "LK"
    s.watch.battery_pct = 64
    session.add(s.watch)
    session.add(
        UnknownDevice(
            serial="867000000000999",
            protocol=DeviceProtocol.watch_tcp,
            attempts=3,
            first_seen_at=clock.now - timedelta(hours=1),
            last_seen_at=clock.now,
            last_address="198.51.100.4:40001",
        )
    )
    session.commit()
    return s


def test_the_devices_list_shows_protocol_connection_and_unknown_ids(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = watch_scenario(session, clock)
    csrf = web_login(client, s.manager.username)
    client.post("/lang", data={"csrf": csrf, "lang": "en", "next": "/"})
    page = client.get("/manage/devices").text
    assert "4G watch (TCP)" in page and "●" in page  # protocol, and connected
    assert 'href="/manage/devices/unknown"' not in page  # ids and addresses of no center: for admins
    # A listener that died cannot record the disconnection: an hour without a frame is not "connected".
    s.watch.connected_at = s.watch.last_frame_at = clock.now - timedelta(hours=1)
    session.add(s.watch)
    session.commit()
    stale = client.get("/manage/devices").text
    assert "●" not in stale and "○" in stale
    assert client.get("/manage/devices/unknown").status_code == 403
    admin = make_staff(session, center=None, role=Role.admin)
    csrf = web_login(client, admin.username)
    client.post("/lang", data={"csrf": csrf, "lang": "en", "next": "/"})
    assert 'href="/manage/devices/unknown"' in client.get("/manage/devices").text
    unknown = client.get("/manage/devices/unknown").text
    assert "867000000000999" in unknown and "198.51.100.4:40001" in unknown
    register = re.search(r'href="(/manage/devices/new\?[^"]+)"', unknown)
    assert register is not None
    form = client.get(register.group(1).replace("&amp;", "&")).text
    assert 'value="867000000000999"' in form  # the register form comes filled in
    assert parse_qs(urlsplit(register.group(1).replace("&amp;", "&")).query)["protocol"] == ["watch-tcp"]


def test_a_command_from_the_device_page_is_queued_and_shown(client: TestClient, session: Session, clock: Clock) -> None:
    s = watch_scenario(session, clock)
    csrf = web_login(client, s.manager.username)
    page = client.get(f"/manage/devices/{s.watch.id}").text
    assert "13900000001, 13900000002" in page  # the numbers the watch would get, in calling order
    sent = client.post(
        f"/manage/devices/{s.watch.id}/commands", data={"csrf": csrf, "kind": "upload_interval", "seconds": "600"}
    )
    assert sent.status_code == 200 and "UPLOAD,600" in sent.text
    bad = client.post(
        f"/manage/devices/{s.watch.id}/commands", data={"csrf": csrf, "kind": "upload_interval", "seconds": "abc"}
    )
    assert bad.status_code == 200 and 'role="alert"' in bad.text  # back to the page with the error, nothing saved
    assert [c.content for c in session.exec(select(DeviceCommand)).all()] == ["UPLOAD,600"]


def test_changing_a_contact_offers_to_send_the_sos_numbers_and_the_map_opens_amap(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = watch_scenario(session, clock)
    csrf = web_login(client, s.manager.username)
    saved = client.post(
        f"/manage/residents/{s.resident.id}/contacts/{s.son.id}/edit",
        data={"csrf": csrf, "phone": "13900000009"},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and "contacts_changed=1" in saved.headers["location"]
    page = client.get(saved.headers["location"]).text
    assert "SOS" in page and "13900000001, 13900000009" in page
    client.post(f"/manage/devices/{s.watch.id}/commands", data={"csrf": csrf, "kind": "sos_numbers"})
    contents = session.exec(select(DeviceCommand.content).order_by(col(DeviceCommand.id))).all()
    assert contents == ["SOS,13900000001,13900000009,"]
    # The home is stored in WGS-84; AMap is opened at the same place in its own GCJ-02.
    link = re.search(r'id="map" href="([^"]+)"', page)
    assert link is not None
    resident = session.get(Resident, s.resident.id)
    assert resident is not None and resident.latitude is not None and resident.longitude is not None
    lat, lon = to_gcj02(resident.latitude, resident.longitude)
    assert f"position={lon:.6f},{lat:.6f}" in link.group(1) and "coordinate=gaode" in link.group(1)
