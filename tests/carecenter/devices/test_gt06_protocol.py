"""The GT06 framer and interpreter alone: captured packets, packets built from the description, cut at every byte."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from carecenter.devices.gt06_protocol import GT06, Gt06Session, PacketReader, crc_itu
from carecenter.devices.models import ClockKind, CommandKind
from carecenter.devices.protocol import CommandRequest, FrameError, Profile
from tests.carecenter.devices import gt06_client as tracker
from tests.carecenter.devices.captured_gt06_packets import (
    DOCUMENTED_LOGIN,
    DOCUMENTED_LOGIN_ANSWER,
    LOGIN,
    LOGIN_IMEI,
    PACKETS,
    THREE_IN_ONE,
    Captured,
)

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
DEFAULT = GT06.default_profile


def logged_in() -> Gt06Session:
    session = GT06.open()
    [login] = session.framer.feed(bytes.fromhex(LOGIN))
    assert session.identify(login) == LOGIN_IMEI
    session.interpret(login, NOW, DEFAULT)
    return session


def test_the_crc_is_crc_itu() -> None:
    assert crc_itu(b"123456789") == 0x906E == tracker.crc16_x25(b"123456789")


def test_the_documented_login_gets_the_documented_answer() -> None:
    session = GT06.open()
    [login] = session.framer.feed(DOCUMENTED_LOGIN)
    assert session.identify(login) == "123456789012345"
    assert session.interpret(login, NOW, DEFAULT).answer == DOCUMENTED_LOGIN_ANSWER


@pytest.mark.parametrize("captured", PACKETS, ids=lambda c: c.hex[:18])
def test_packets_captured_by_others_are_read(captured: Captured) -> None:
    session = logged_in()
    [packet] = session.framer.feed(captured.raw)
    report = session.interpret(packet, NOW, DEFAULT)
    assert report.refused == captured.refused
    if captured.answered:
        assert report.answer is not None
        assert tracker.answer_to(report.answer) == (captured.raw[3], int.from_bytes(captured.raw[-6:-4]))
        assert tracker.crc16_x25(report.answer[2:-4]) == int.from_bytes(report.answer[-4:-2])
    else:
        assert report.answer is None
    assert [r["kind"] for r in report.readings] == list(captured.kinds)
    if captured.values:
        assert {k: report.readings[0].get(k) for k in captured.values} == pytest.approx(captured.values)
    assert report.events == list(captured.events)
    assert report.reply_text == captured.reply_text


def test_a_stream_cut_at_every_byte_gives_the_same_packets() -> None:
    stream = bytes.fromhex(LOGIN) + THREE_IN_ONE + tracker.status() + tracker.alarm(NOW, alarm=1)
    whole = PacketReader().feed(stream)
    assert [p.word for p in whole] == ["0x01", "0xFD", "0xFD", "0xFD", "0x13", "0x16"]
    for cut in range(1, len(stream)):
        reader = PacketReader()
        assert reader.feed(stream[:cut]) + reader.feed(stream[cut:]) == whole


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"GET / HTTP/1.1\r\n", "bytes outside a packet"),
        (b"\x78\x78\x02\x13\x00\x0d\x0a", "a packet too short for its serial number and CRC"),
        (tracker.status()[:-2] + b"XX", "a packet that does not end as its length says"),
        (b"\x79\x79\xff\xff" + b"\x00" * 70_000, "a packet longer than 64 KB"),
    ],
)
def test_what_is_not_the_protocol_is_refused(bad: bytes, reason: str) -> None:
    with pytest.raises(FrameError, match=reason):
        PacketReader().feed(bad)


def test_an_sos_and_a_fall_from_the_description_become_readings_that_carry_nothing_else() -> None:
    session = logged_in()
    for code, kind in ((0x01, "sos"), (0x23, "fall")):
        [packet] = session.framer.feed(tracker.alarm(NOW - timedelta(minutes=1), alarm=code))
        report = session.interpret(packet, NOW, DEFAULT)
        assert [r["kind"] for r in report.readings] == ["location", kind]
        assert set(report.readings[1]) == {"event_id", "kind", "recorded_at"}
        assert report.readings[1]["recorded_at"] == (NOW - timedelta(minutes=1)).isoformat()
    # The SOS bits of the terminal information (a heartbeat of a pendant whose button was pressed).
    [beat] = session.framer.feed(tracker.status(info=0b100 << 3))
    assert [r["kind"] for r in session.interpret(beat, NOW, DEFAULT).readings] == ["heartbeat", "sos"]


def test_a_resent_alarm_with_a_new_serial_number_is_a_duplicate() -> None:
    session = logged_in()
    first, again = (tracker.alarm(NOW, alarm=1, serial=n) for n in (7, 8))
    ids = [
        [r["event_id"] for r in session.interpret(p, NOW, DEFAULT).readings] for p in PacketReader().feed(first + again)
    ]
    assert ids[0] == ids[1]


def test_a_model_with_a_local_clock_and_its_own_alarm_codes() -> None:
    china = Profile(clock=ClockKind.local, clock_zone="Asia/Shanghai", alarm_codes={"alarm:19": "removed"})
    session = logged_in()
    local = NOW.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    [packet] = session.framer.feed(tracker.alarm(local, alarm=0x13))
    report = session.interpret(packet, NOW, china)
    assert [(r["kind"], r["recorded_at"]) for r in report.readings] == [
        ("location", NOW.isoformat()),
        ("removed", NOW.isoformat()),
    ]
    # The same packet read as UTC is 8 hours ahead: implausible, so stored when it arrived.
    assert session.interpret(packet, NOW, DEFAULT).readings[0]["recorded_at"] == NOW.isoformat()


def test_commands_are_0x80_with_the_server_flag_and_the_answer_finds_them() -> None:
    session = logged_in()
    content = GT06.command_content(CommandRequest(CommandKind.sos_numbers, numbers=("13900000001", "13900000002")))
    assert content == "SOS,A,13900000001,13900000002#"
    assert GT06.command_content(CommandRequest(CommandKind.upload_interval, seconds=60)) == "TIMER,60,60#"
    assert GT06.command_content(CommandRequest(CommandKind.locate)) == "WHERE#"
    data, key = session.encode_command(content, 4242)
    assert data[:2] == b"\x78\x78" and data[2] == len(data) - 5 and data[3] == 0x80
    assert (
        data[4] == 4 + len(content)
        and int.from_bytes(data[5:9]) == 4242
        and data[9 : 9 + len(content)] == content.encode()
    )
    assert tracker.crc16_x25(data[2:-4]) == int.from_bytes(data[-4:-2])
    [answer] = session.framer.feed(tracker.command_answer(4242, "SOS OK!"))
    report = session.interpret(answer, NOW, DEFAULT)
    assert (report.replies_to, report.reply_text, report.answer) == (key, "SOS OK!", None)


# The base station's MCC and MNC in packets captured by others; each agrees with where the
# packet's own position lies (460 China, 724 Brazil, 246 Lithuania, 302 Canada, 404 India).
NETWORKS = {
    "787822220F0C1D023305C9027AC8180C46586000140001CC00287D001F71000001000820860D0A": "460-00",
    "7878241216040e102c22cf00915ffb04c6016300195a02d402283b00753f400571040001dda4880d0a": "724-02",
    "78781f120f0a140e150bc505e51e780293a9e800540000f601006e0055da00035f240d0a": "246-01",
    "78782111150b0b022c30c804b7af7808810cb0003c00012e02d075df0084890c000679950d0a": "302-02",
    "787822221106160a1016c60278019407c7783800040001940504700046fc01030100065f570d0a": "404-05",
    "787819100B031A0B1B31CC027AC7FD0C4657BF0115210001001CC6070D0A": None,  # 0x10: GPS only
    "787825160F0C1D0A2B21C8027AC8040C46581000146F0901CC00287D001F714804040301001C84CF0D0A": "460-00",
    "7878251613020C12141AC5027951430C2A16F60014000900000000001A00007C550300020002F1E70D0A": None,  # MCC 0
    "7878251610051b0f1c34c5022515d504b5dcd20738080902d4022bdf009cba5006640201006759680d0a": "724-02",
}


@pytest.mark.parametrize(("raw", "network"), NETWORKS.items(), ids=lambda v: str(v)[:18])
def test_the_network_a_packet_came_through_is_read_from_its_base_station(raw: str, network: str | None) -> None:
    session = logged_in()
    [packet] = session.framer.feed(bytes.fromhex(raw))
    assert session.interpret(packet, NOW, DEFAULT).network == network


def test_a_two_byte_mnc_is_flagged_by_the_mcc_high_bit() -> None:
    session = logged_in()
    station = (0x8000 | 310).to_bytes(2) + (410).to_bytes(2) + bytes(5)  # MCC 310 (flagged), MNC 410, LAC, cell
    [packet] = session.framer.feed(tracker.position(NOW, station=station))
    assert session.interpret(packet, NOW, DEFAULT).network == "310-410"
