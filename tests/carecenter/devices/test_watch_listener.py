"""4G watches over real TCP sockets: frames in, readings and alerts stored, answers only after the commit."""

import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlmodel import Session, col, select

from carecenter.access import Role
from carecenter.alerts.models import Alert
from carecenter.context import app_context
from carecenter.devices.models import (
    CommandStatus,
    Device,
    DeviceCommand,
    DeviceMedia,
    DeviceProtocol,
    UnknownDevice,
)
from carecenter.devices.watch_protocol import WATCH, FrameReader
from carecenter.gateway.listener import DeviceListener
from carecenter.readings.models import Reading
from carecenter.settings.devices import DeviceSettings
from notifications.dispatcher import Dispatcher
from tests.carecenter.alerts.scenario import Scenario
from tests.carecenter.devices.captured_watch_frames import (
    FRAMES,
    ONE_READ,
    ONE_READ_ANSWERS,
    ONE_READ_KINDS,
    VOICE,
    VOICE_AUDIO,
)
from tests.carecenter.devices.listeners import fail_the_next_commit, running_listener, scenario_with
from tests.carecenter.devices.watch_client import Watch, frame, position
from tests.conftest import Clock
from tests.factories import login, make_device, make_staff
from tests.fakes import FakeSender
from tests.waiting import eventually

IMEI = "358688000000158"
ROGUE = "358688000000299"  # another watch of the center, which sends what is not the protocol


@pytest.fixture
def listener(app: FastAPI, client: TestClient, clock: Clock) -> Iterator[DeviceListener]:
    with running_listener(app, clock, WATCH, watch_identify_seconds=2) as running:
        yield running


@pytest.fixture
def s(session: Session, clock: Clock) -> Scenario:
    return scenario_with(session, clock, IMEI, DeviceProtocol.watch_tcp)


def connect(listener: DeviceListener, device_id: str = IMEI) -> Watch:
    assert listener.port is not None
    return Watch(listener.port, device_id)


def fresh(session: Session, model: Any, ident: Any) -> Any:
    session.expire_all()
    return session.get(model, ident)


def readings(session: Session) -> list[Reading]:
    session.expire_all()
    return list(session.exec(select(Reading).order_by(col(Reading.id))).all())


def alerts(session: Session) -> list[tuple[str, int]]:
    session.expire_all()
    return [(a.kind, a.trigger_count) for a in session.exec(select(Alert).order_by(col(Alert.id))).all()]


def test_a_keepalive_is_answered_and_feeds_battery_and_last_seen(
    listener: DeviceListener, s: Scenario, session: Session, clock: Clock
) -> None:
    watch = connect(listener)
    watch.send("LK,1520,0,64")
    answer = watch.receive()
    assert (answer.vendor, answer.device_id, answer.index, answer.content) == ("3G", IMEI, None, b"LK")
    device = fresh(session, Device, s.watch.id)
    assert (device.battery_pct, device.last_seen_at) == (64, clock.now)
    assert eventually(lambda: fresh(session, Device, s.watch.id).connected_at == clock.now)  # recorded each second
    assert fresh(session, Device, s.watch.id).disconnected_at is None
    [reading] = readings(session)
    assert (reading.kind, reading.steps, reading.battery_pct) == ("heartbeat", 1520, 64)
    watch.close()
    assert eventually(lambda: fresh(session, Device, s.watch.id).disconnected_at is not None)


def test_an_sos_alarm_is_answered_after_it_is_stored_and_a_resent_one_is_a_duplicate(
    listener: DeviceListener, s: Scenario, session: Session, clock: Clock, dispatcher: Dispatcher, sender: FakeSender
) -> None:
    watch = connect(listener)
    alarm = position("AL", clock.now, status=1 << 16)
    watch.send(alarm)
    assert watch.receive().content == b"AL"
    assert alerts(session) == [("sos", 1)]
    dispatcher.dispatch_due(clock.now)
    assert s.on_duty.phone in [m.to for m in sender.sent]  # the SOS reached the on-duty worker by SMS
    kinds = [r.kind for r in readings(session)]
    assert kinds == ["location", "sos"]
    watch.send(alarm)  # the watch did not hear us and sends it again
    assert watch.receive().content == b"AL"
    assert alerts(session) == [("sos", 1)]
    assert len(readings(session)) == 2


def test_several_frames_in_one_read_and_a_frame_split_across_reads(
    listener: DeviceListener, s: Scenario, session: Session, clock: Clock
) -> None:
    watch = connect(listener)
    together = frame(IMEI, "LK") + frame(IMEI, position("UD", clock.now)) + frame(IMEI, "LK,0,0,90")
    watch.raw(together)
    assert [watch.receive().content, watch.receive().content] == [b"LK", b"LK"]
    heart = frame(IMEI, "heart,72")
    for n in range(len(heart)):
        watch.raw(heart[n : n + 1])
    watch.send("LK")
    assert watch.receive().content == b"LK"
    kinds = [(r.kind, r.heart_rate, r.latitude) for r in readings(session)]
    assert kinds == [
        ("heartbeat", None, None),
        ("location", None, 39.76),
        ("heartbeat", None, None),
        ("vitals", 72, None),
    ]


def test_the_indexed_form_is_answered_with_its_index(listener: DeviceListener, s: Scenario, clock: Clock) -> None:
    watch = connect(listener)
    watch.send("LK,0,0,50", vendor="ZJ", index="00A7")
    answer = watch.receive()
    assert (answer.vendor, answer.index, answer.content) == ("ZJ", "00A7", b"LK")
    watch.send(position("ALCUSTOMER1", clock.now, status=1 << 21), vendor="ZJ", index="00A8")
    answer = watch.receive()
    assert (answer.index, answer.content) == ("00A8", b"AL")


def test_a_fall_from_alcustomer1_and_a_position_without_fix(
    listener: DeviceListener, s: Scenario, session: Session, clock: Clock
) -> None:
    watch = connect(listener)
    watch.send(position("UD", clock.now, lat=39.761, lon=116.211))
    watch.send(position("UD_LTE", clock.advance(minutes=1), fix=False, cells="1,1,460,0,9360,4082,131,wifi-aa"))
    watch.send(position("ALCUSTOMER1", clock.advance(minutes=1), fix=False, status=1 << 22, cells="1,1,460,0,1,2,3"))
    assert watch.receive().content == b"AL"
    assert alerts(session) == [("fall", 1)]
    located = [(r.kind, r.latitude) for r in readings(session)]
    assert located == [("location", 39.761), ("heartbeat", None), ("heartbeat", None), ("fall", None)]
    assert eventually(lambda: fresh(session, Device, s.watch.id).last_cells == "1,1,460,0,1,2,3")
    assert fresh(session, Device, s.watch.id).last_network == "460-00"  # the carrier an outage's words name


@pytest.mark.parametrize(
    ("content", "values"),
    [
        ("heart,72", {"heart_rate": 72}),
        ("HEART,88", {"heart_rate": 88}),
        ("bphrt,128,82,70,1,2", {"systolic": 128, "diastolic": 82, "heart_rate": 70}),
        ("BLOOD,135,85", {"systolic": 135, "diastolic": 85}),
        ("oxygen,1,97", {"spo2": 97}),
        ("btemp2,1,36.6", {"temperature": 36.6}),
        ("TEMP,37.1", {"temperature": 37.1}),
    ],
)
def test_vital_signs_become_readings(
    listener: DeviceListener, s: Scenario, session: Session, content: str, values: dict[str, Any]
) -> None:
    watch = connect(listener)
    watch.send(content)
    watch.send("LK")  # answered after the vital sign was handled: frames of a connection go in order
    assert watch.receive().content == b"LK"
    [vitals] = [r for r in readings(session) if r.kind == "vitals"]
    assert {name: getattr(vitals, name) for name in values} == values


def test_an_impossible_vital_sign_is_refused_like_the_api_does_and_the_connection_stays(
    listener: DeviceListener, s: Scenario, session: Session
) -> None:
    watch = connect(listener)
    watch.send("heart,0")  # the watch is off the wrist
    watch.send("LK")
    assert watch.receive().content == b"LK"
    assert [r.kind for r in readings(session)] == ["heartbeat"]


def test_other_words_are_answered_where_the_protocol_expects_it_and_never_close(
    listener: DeviceListener, s: Scenario
) -> None:
    watch = connect(listener)
    for word, expected in (("INIT,13800138000,1,1", b"INIT,1"), ("TKQ", b"TKQ"), ("TKQ2", b"TKQ2")):
        watch.send(word)
        assert watch.receive().content == expected
    watch.send("PHB,0,0")  # a word CareCenter does not use
    watch.send("LK")
    assert watch.receive().content == b"LK"


def test_an_unknown_id_gets_no_answer_is_closed_and_is_shown_to_managers(
    listener: DeviceListener, s: Scenario, session: Session, client: TestClient
) -> None:
    for _ in range(2):
        stranger = connect(listener, "867000000000999")
        stranger.send("LK")
        assert stranger.closed_by_server()
        assert not stranger.frames
    unknown = fresh(session, UnknownDevice, "867000000000999")
    assert (unknown.attempts, unknown.protocol) == (2, "watch-tcp")
    assert client.get("/api/v1/devices/unknown", headers=login(client, s.manager)).status_code == 403
    admin = login(client, make_staff(session, center=None, role=Role.admin))
    listed = client.get("/api/v1/devices/unknown", headers=admin).json()
    assert [(u["serial"], u["attempts"]) for u in listed["items"]] == [("867000000000999", 2)]
    assert "carecenter_unknown_device_attempts_total 2.0" in client.get("/metrics").text
    # A revoked watch is turned away the same way.
    watch = connect(listener)
    device = fresh(session, Device, s.watch.id)
    device.revoked_at = device.created_at
    session.add(device)
    session.commit()
    watch.send("LK")
    assert watch.closed_by_server()


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"GET / HTTP/1.1\r\n\r\n", "bytes outside a frame"),  # garbage bytes
        (frame(ROGUE, "LK,0,0,50") + b"]", "bytes outside a frame"),  # a bracket that closes nothing
        (b"[3G*" + b"1" * 100, "malformed frame header"),  # a header that never ends
        (f"[3G*{IMEI}*FFFF*UD,".encode() + b"0" * 70_000, "a frame longer than 64 KB"),  # no "]"
        (b"[3G*", "frame never completed"),  # a client that sends a byte now and then
    ],
)
def test_bad_input_closes_that_connection_only(
    listener: DeviceListener, s: Scenario, session: Session, client: TestClient, bad: bytes, reason: str
) -> None:
    good = connect(listener)
    good.send("LK")
    assert good.receive().content == b"LK"
    other_watch, _ = make_device(session, center=s.center, serial=ROGUE, protocol="watch-tcp")
    rogue = connect(listener, other_watch.serial)
    rogue.send("LK")
    assert rogue.receive().content == b"LK"
    rogue.raw(bad)
    assert rogue.closed_by_server(timeout=3)
    good.send("LK,0,0,40")
    assert good.receive().content == b"LK"
    listener.checkins.write_sightings().result(10)  # a device seen before is written within the second
    assert fresh(session, Device, s.watch.id).battery_pct == 40
    assert (
        f'carecenter_device_connections_closed_total{{protocol="watch",reason="{reason}"}}'
        in client.get("/metrics").text
    )


def test_a_position_far_from_home_raises_left_geofence(
    listener: DeviceListener, s: Scenario, session: Session, clock: Clock
) -> None:
    watch = connect(listener)
    watch.send(position("UD", clock.now, lat=39.7605, lon=116.2102))  # at home
    watch.send(position("UD", clock.advance(minutes=1), lat=39.78, lon=116.21))  # 2.2 km north
    watch.send("LK")
    assert watch.receive().content == b"LK"
    assert alerts(session) == []  # one fix outside may be drift: an exit needs two in a row
    watch.send(position("UD", clock.advance(minutes=1), lat=39.781, lon=116.21))
    watch.send("LK")
    assert watch.receive().content == b"LK"
    assert alerts(session) == [("left_geofence", 1)]


def test_an_idle_connection_is_closed(app: FastAPI, client: TestClient, s: Scenario, clock: Clock) -> None:
    settings = DeviceSettings(watch_port=0, watch_host="127.0.0.1", watch_idle_seconds=5)
    listener = DeviceListener(
        protocol=WATCH,
        engine=app_context(app).engine,
        checkins=app_context(app).checkins,
        settings=settings,
        clock=lambda: clock.now,
    )
    listener.start()
    try:
        watch = connect(listener)
        watch.send("LK")
        assert watch.receive().content == b"LK"
        started = time.monotonic()
        assert watch.closed_by_server(timeout=10)
        assert 4 <= time.monotonic() - started < 9
    finally:
        listener.stop()


def test_an_alarm_that_was_not_committed_is_not_answered_and_its_resend_makes_one_alert(
    listener: DeviceListener, s: Scenario, session: Session, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_the_next_commit(monkeypatch)
    watch = connect(listener)
    alarm = position("AL", clock.now, status=1 << 16)
    watch.send(alarm)
    assert watch.nothing_within(1.0)  # not stored: no answer, so the watch will send it again
    assert alerts(session) == []
    watch.send(alarm)
    assert watch.receive().content == b"AL"
    assert alerts(session) == [("sos", 1)]


def test_watch_taken_off_alerts_only_residents_enrolled(
    listener: DeviceListener, s: Scenario, session: Session, clock: Clock
) -> None:
    watch = connect(listener)
    watch.send(position("AL", clock.now, status=1 << 20))
    assert watch.receive().content == b"AL"
    assert alerts(session) == []
    resident = fresh(session, type(s.resident), s.resident.id)
    resident.watch_removed_alert = True
    session.add(resident)
    session.commit()
    watch.send(position("AL", clock.advance(minutes=1), status=1 << 20))
    assert watch.receive().content == b"AL"
    assert alerts(session) == [("watch_removed", 1)]


def test_sos_numbers_wait_for_the_watch_and_are_acknowledged(
    listener: DeviceListener, s: Scenario, session: Session, client: TestClient, clock: Clock
) -> None:
    manager = login(client, s.manager)
    sent = client.post(f"/api/v1/devices/{s.watch.id}/commands", json={"kind": "sos_numbers"}, headers=manager)
    assert sent.status_code == 202, sent.text
    assert sent.json()["content"] == "SOS,13900000001,13900000002,"  # the family, in calling order
    assert sent.json()["status"] == "queued"
    watch = connect(listener)
    watch.send("LK")
    received = [watch.receive().content for _ in range(2)]
    assert b"SOS,13900000001,13900000002," in received and b"LK" in received
    watch.send("SOS")
    assert eventually(lambda: fresh(session, DeviceCommand, sent.json()["id"]).status == CommandStatus.answered)
    locate = client.post(f"/api/v1/devices/{s.watch.id}/commands", json={"kind": "locate"}, headers=manager).json()
    assert watch.receive().content == b"CR"  # sent at once: the watch is connected
    clock.advance(seconds=3)  # and not answered within the command time-out
    assert eventually(lambda: fresh(session, DeviceCommand, locate["id"]).status == CommandStatus.timed_out, 6)
    history = client.get(f"/api/v1/devices/{s.watch.id}/commands", headers=manager).json()["items"]
    assert [(c["kind"], c["status"]) for c in history] == [("locate", "timed_out"), ("sos_numbers", "answered")]


def test_commands_are_refused_for_devices_that_cannot_take_them(
    s: Scenario, session: Session, client: TestClient
) -> None:
    manager = login(client, s.manager)
    pendant, _ = make_device(session, center=s.center)
    answer = client.post(f"/api/v1/devices/{pendant.id}/commands", json={"kind": "locate"}, headers=manager)
    assert answer.status_code == 409
    interval = client.post(f"/api/v1/devices/{s.watch.id}/commands", json={"kind": "upload_interval"}, headers=manager)
    assert interval.status_code == 422
    worker = login(client, s.worker)
    refused = client.post(f"/api/v1/devices/{s.watch.id}/commands", json={"kind": "locate"}, headers=worker)
    assert refused.status_code == 403


def test_frames_captured_by_others_are_answered_and_stored_over_real_sockets(
    listener: DeviceListener, s: Scenario, session: Session, client: TestClient, clock: Clock
) -> None:
    """Each frame from a public decoder test suite, on a connection of its own watch (registered
    for the scenario's resident): the answer it must get, then the readings it must leave."""
    mismatches_before = _mismatches("9081000548")
    for captured in FRAMES:
        clock.advance(seconds=10)  # a later LK of the same watch is a new one, not a duplicate
        [parsed] = FrameReader().feed(captured.raw)
        serial = parsed.device_id
        if _device_id(session, serial) is None:
            make_device(session, center=s.center, resident=s.resident, serial=serial, protocol="watch-tcp")
        watch = connect(listener, serial)
        watch.raw(captured.raw)
        if captured.answer is not None:
            got = watch.receive()
            assert (got.content.decode(), got.vendor, got.index) == (captured.answer, parsed.vendor, parsed.index), (
                captured.raw
            )
        watch.raw(frame(serial, "LK", vendor=parsed.vendor, index=parsed.index))  # answered after the frame
        assert watch.receive().content == b"LK", captured.raw
        stored = [r for r in readings(session) if r.device_id == _device_id(session, serial)]
        assert stored[-1].kind == "heartbeat"  # the LK
        new = stored[len(stored) - 1 - len(captured.kinds) : -1]
        assert [r.kind for r in new] == list(captured.kinds), captured.raw
        for name, value in captured.values.items():
            assert getattr(new[0], name) == pytest.approx(value), (captured.raw, name)
        watch.close()
    assert _mismatches("9081000548") == mismatches_before + 1  # LEN 9 for 8 bytes, counted and read
    assert 'carecenter_device_frames_suspect_total{device="9081000548"' in client.get("/metrics").text


def test_four_frames_in_one_read_as_captured(listener: DeviceListener, s: Scenario, session: Session) -> None:
    make_device(session, center=s.center, resident=s.resident, serial="9705141740", protocol="watch-tcp")
    watch = connect(listener, "9705141740")
    watch.raw(ONE_READ)
    assert [watch.receive().content.decode() for _ in ONE_READ_ANSWERS] == ONE_READ_ANSWERS
    assert [r.kind for r in readings(session)] == ONE_READ_KINDS


def _device_id(session: Session, serial: str) -> int | None:
    return session.exec(select(Device.id).where(Device.serial == serial)).first()


def _mismatches(serial: str) -> float:
    labels = {"protocol": "watch", "device": serial, "reason": "length field mismatch"}
    return REGISTRY.get_sample_value("carecenter_device_frames_suspect_total", labels) or 0.0


def test_voice_messages_and_photos_are_kept_and_answered_after_they_are_stored(
    listener: DeviceListener, s: Scenario, session: Session, client: TestClient, app: FastAPI
) -> None:
    make_device(session, center=s.center, resident=s.resident, serial="1234567890", protocol="watch-tcp")
    watch = connect(listener, "1234567890")
    watch.raw(VOICE)  # as captured: AMR bytes holding escaped "} [ ] , *"
    assert watch.receive().content == b"TK,1"
    # A voice message in parts (JXTK), each part answered; then a photo (img, JPEG after the time).
    for part, chunk in enumerate((b"#!AMR\n\x01", b"\x02]*,\x03"), start=1):
        body = f"JXTK,0,watch_7_20220526093954,{part},2,".encode() + chunk
        escaped = body.replace(b"}", b"}\x01").replace(b"]", b"}\x03").replace(b"*", b"}\x05")
        watch.raw(f"[ZJ*1234567890*0001*{len(body):04X}*".encode() + escaped + b"]")
        assert watch.receive().content == b"JXTKR,1"
    jpeg = b"\xff\xd8\xff\xe0 a photo \xff\xd9"
    watch.raw(b"[3G*1234567890*0020*img,5,191106120000," + jpeg + b"]")
    watch.raw(frame("1234567890", "LK"))
    assert watch.receive().content == b"LK"
    session.expire_all()
    kept = session.exec(select(DeviceMedia).order_by(col(DeviceMedia.id))).all()
    assert [(m.kind, m.content_type, m.center_id) for m in kept] == [
        ("voice", "audio/amr", s.center.id),
        ("voice", "audio/amr", s.center.id),
        ("photo", "image/jpeg", s.center.id),
    ]
    store = app_context(app).media
    assert [store.get(m.media_key) for m in kept] == [VOICE_AUDIO, b"#!AMR\n\x01\x02]*,\x03", jpeg]


def test_a_scan_of_the_port_records_few_unknown_ids_and_silent_connections_are_closed(
    listener: DeviceListener, s: Scenario, session: Session, client: TestClient
) -> None:
    refused = REGISTRY.get_sample_value("carecenter_device_unknown_refused_total", {"protocol": "watch"}) or 0.0
    for n in range(30):  # thirty ids nobody registered, from one address, in a moment
        stranger = connect(listener, f"86700000000{n:04d}")
        stranger.send("LK")
        assert stranger.closed_by_server()
    session.expire_all()
    assert len(session.exec(select(UnknownDevice)).all()) == 10  # the first ten; the rest only counted
    after = REGISTRY.get_sample_value("carecenter_device_unknown_refused_total", {"protocol": "watch"}) or 0.0
    assert after == refused + 20
    assert listener.port is not None
    silent = Watch(listener.port, IMEI)  # connects and never says which device it is
    started = time.monotonic()
    assert silent.closed_by_server(timeout=6)
    assert time.monotonic() - started < 4
    assert 'reason="did not identify itself"' in client.get("/metrics").text


def test_a_watch_whose_length_field_is_off_raises_its_sos(
    listener: DeviceListener, s: Scenario, session: Session, clock: Clock, dispatcher: Dispatcher, sender: FakeSender
) -> None:
    """The defect the captured frames found: an `SG*` watch's LEN is 3 more than its content."""
    watch = connect(listener)
    body = position("AL", clock.now, status=1 << 16).encode()
    watch.raw(f"[SG*{IMEI}*{len(body) + 3:04X}*".encode() + body + b"]")
    answer = watch.receive()
    assert (answer.vendor, answer.content) == ("SG", b"AL")
    assert alerts(session) == [("sos", 1)]
    dispatcher.dispatch_due(clock.now)
    assert s.on_duty.phone in [m.to for m in sender.sent]


def test_an_sos_followed_by_noise_or_a_hang_up_is_still_stored(
    listener: DeviceListener, s: Scenario, session: Session, client: TestClient, clock: Clock
) -> None:
    alarm = frame(IMEI, position("AL", clock.now, status=1 << 16))
    noisy = connect(listener)
    noisy.raw(alarm + b"\x00garbage")  # one read: the alarm, then what is not the protocol
    assert noisy.receive().content == b"AL"  # stored and answered, and then the connection closes
    assert noisy.closed_by_server(timeout=3)
    assert alerts(session) == [("sos", 1)]
    assert 'carecenter_device_connections_closed_total{protocol="watch",reason="bytes outside a frame"}' in (
        client.get("/metrics").text
    )
    half = connect(listener)
    half.raw(frame(IMEI, position("AL", clock.now + timedelta(minutes=1), status=1 << 16)))
    half.sock.shutdown(socket.SHUT_WR)  # sent all it will, and waits for the answer
    assert half.receive().content == b"AL"
    assert half.closed_by_server(timeout=3)
    quitter = connect(listener)
    quitter.raw(frame(IMEI, position("AL", clock.now + timedelta(minutes=2), status=1 << 16)))
    quitter.close()  # before the answer could come
    assert eventually(lambda: [r.kind for r in readings(session)].count("sos") == 3)


def test_a_flood_of_frames_is_answered_in_order_while_its_reading_pauses(
    listener: DeviceListener, s: Scenario, session: Session
) -> None:
    watch = connect(listener)
    count = 300  # several times what a connection holds before its reading pauses
    watch.raw(b"".join(frame(IMEI, f"LK,{n},0,{n % 100}") for n in range(count)))
    assert [watch.receive().content for _ in range(count)] == [b"LK"] * count
    assert [r.steps for r in readings(session)] == list(range(count))
    watch.send("LK,0,0,55")  # reading resumed
    assert watch.receive().content == b"LK"


def test_base_stations_are_kept_only_with_consent_and_a_frame_without_them_keeps_the_last(
    listener: DeviceListener, s: Scenario, session: Session, clock: Clock
) -> None:
    watch = connect(listener)
    s.resident.consent_location_data = False
    session.add(s.resident)
    session.commit()
    watch.send(position("UD_LTE", clock.now, fix=False, cells="1,1,460,0,1,2,3"))
    watch.send("LK")
    assert watch.receive().content == b"LK"
    assert eventually(lambda: fresh(session, Device, s.watch.id).last_frame == "LK")
    assert fresh(session, Device, s.watch.id).last_cells is None
    s.resident.consent_location_data = True
    session.add(s.resident)
    session.commit()
    watch.send(position("UD_LTE", clock.advance(minutes=1), fix=False, cells="1,1,460,1,4,5,6"))
    assert eventually(lambda: fresh(session, Device, s.watch.id).last_cells == "1,1,460,1,4,5,6")
    clock.advance(minutes=1)
    watch.send("LK")
    assert watch.receive().content == b"LK"
    assert eventually(lambda: fresh(session, Device, s.watch.id).last_frame_at == clock.now)
    device = fresh(session, Device, s.watch.id)
    assert (device.last_frame, device.last_cells, device.last_network) == ("LK", "1,1,460,1,4,5,6", "460-01")
