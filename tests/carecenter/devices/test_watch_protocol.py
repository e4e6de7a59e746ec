"""The frame parser alone: frames written from the protocol's description, cut at every byte."""

from datetime import UTC, datetime, timedelta

import pytest

from carecenter.devices.protocol import FrameError
from carecenter.devices.watch_protocol import FrameReader, answer, interpret
from tests.carecenter.devices.captured_watch_frames import FRAMES, Captured
from tests.carecenter.devices.watch_client import frame, position

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def test_a_stream_cut_at_every_byte_gives_the_same_frames() -> None:
    stream = (
        frame("8800000015", "LK,10,0,77")
        + b"\r\n"
        + frame("8800000015", position("UD", NOW), vendor="SG")
        + frame("4700609403", "LK", vendor="ZJ", index="0A1F")
        + frame("8800000015", "CR")
    )
    whole = FrameReader().feed(stream)
    assert [(f.vendor, f.index, f.word) for f in whole] == [
        ("3G", None, "LK"),
        ("SG", None, "UD"),
        ("ZJ", "0A1F", "LK"),
        ("3G", None, "CR"),
    ]
    for cut in range(1, len(stream)):
        reader = FrameReader()
        assert reader.feed(stream[:cut]) + reader.feed(stream[cut:]) == whole


def test_answers_echo_vendor_id_and_index() -> None:
    [indexed] = FrameReader().feed(frame("4700609403", "LK", vendor="ZJ", index="0A1F"))
    assert answer(indexed, "LK") == b"[ZJ*4700609403*0A1F*0002*LK]"
    [plain] = FrameReader().feed(frame("8800000015", "LK"))
    assert answer(plain, "LK") == b"[3G*8800000015*0002*LK]"


def test_a_command_word_that_starts_with_hex_letters_is_not_taken_for_an_index() -> None:
    # "AL" and "CR" start with hex digits; only "HHHH*" makes an index.
    for content in ("AL", "CR", "BLOOD,130,80", "ADDD"):
        reader = FrameReader()
        data = frame("1234567890", content)
        frames = [f for n in range(len(data)) for f in reader.feed(data[n : n + 1])]
        assert [(f.index, f.text) for f in frames] == [(None, content)]


@pytest.mark.parametrize(
    "bad",
    [
        b"hello",
        b"[3G*1*00G2*LK]",  # not hex
        b"[3G**0002*LK]",  # no id
        b"[3G*12345678901234567890123456789012345*0002*LK]",  # an id longer than any IMEI or code
        b"[" + b"A" * 100,  # a header that never ends
    ],
)
def test_what_is_not_a_frame_is_refused(bad: bytes) -> None:
    with pytest.raises(FrameError):
        FrameReader().feed(bad)


def test_an_alarm_carries_one_reading_per_status_bit_and_nothing_that_could_refuse_it() -> None:
    status = (1 << 16) | (1 << 17) | (1 << 20) | (1 << 21) | (1 << 22)
    [alarm] = FrameReader().feed(frame("1", position("AL", NOW, status=status, battery=250)))
    report = interpret(alarm, NOW)
    assert report.answer == answer(alarm, "AL")
    kinds = [r["kind"] for r in report.readings]
    assert kinds == ["location", "sos", "low_battery", "removed", "fall"]  # both fall bits: one fall
    assert "battery_pct" not in report.readings[0]  # 250 % is left out, the position stays
    assert all(set(r) == {"event_id", "kind", "recorded_at"} for r in report.readings[1:])
    assert len({r["event_id"] for r in report.readings}) == 5


def test_an_alarm_with_a_wrong_clock_is_stored_when_it_arrived() -> None:
    eight_hours_ahead = NOW + timedelta(hours=8)  # a watch set to Beijing time
    [alarm] = FrameReader().feed(frame("1", position("AL", eight_hours_ahead, status=1 << 16)))
    report = interpret(alarm, NOW)
    assert {r["recorded_at"] for r in report.readings} == {NOW.isoformat()}
    again = interpret(alarm, NOW + timedelta(seconds=30))  # resent later: the same event ids
    assert [r["event_id"] for r in again.readings] == [r["event_id"] for r in report.readings]


def test_positions_without_a_fix_keep_the_cells_and_southern_western_coordinates_are_signed() -> None:
    [lost] = FrameReader().feed(frame("1", position("UD2", NOW, fix=False, cells="2,1,460,0,1,2,3")))
    report = interpret(lost, NOW)
    assert [r["kind"] for r in report.readings] == ["heartbeat"] and report.cells == "2,1,460,0,1,2,3"
    body = position("UD", NOW, lat=33.9, lon=151.2).replace(",N,", ",S,").replace(",E,", ",W,")
    [south] = FrameReader().feed(frame("1", body))
    reading = interpret(south, NOW).readings[0]
    assert (reading["latitude"], reading["longitude"]) == (-33.9, -151.2)


def test_the_length_field_is_a_hint_a_frame_ends_at_its_balanced_bracket() -> None:
    stream = b"[SG*9081000548*0009*LK,0,100][3G*1*0003*UD,[wifi]x,1]" + frame("1", "LK")
    frames = FrameReader().feed(stream)
    assert [(f.text, f.declared_length, f.length_matches) for f in frames] == [
        ("LK,0,100", 9, False),
        ("UD,[wifi]x,1", 3, False),
        ("LK", 2, True),
    ]
    for cut in range(1, len(stream)):
        reader = FrameReader()
        assert reader.feed(stream[:cut]) + reader.feed(stream[cut:]) == frames


def test_escapes_are_decoded_and_a_stray_brace_is_kept() -> None:
    [voice] = FrameReader().feed(b"[CS*1*0009*TK,}\x01}\x02}\x03}\x04}\x05}x]")
    assert voice.payload == b"}[],*}x"
    assert voice.word == "TK"


def test_a_frame_that_never_closes_is_refused_at_64_kb() -> None:
    reader = FrameReader()
    reader.feed(b"[3G*1*FFFF*UD," + b"0" * 60_000)
    with pytest.raises(FrameError, match="64 KB"):
        reader.feed(b"0" * 6_000)


@pytest.mark.parametrize("captured", FRAMES, ids=lambda c: c.raw[:34].decode("ascii", "replace"))
def test_frames_captured_by_others_are_read(captured: Captured) -> None:
    [read] = FrameReader().feed(captured.raw)
    report = interpret(read, NOW)
    assert report.answer == (answer(read, captured.answer) if captured.answer else None)
    assert [r["kind"] for r in report.readings] == list(captured.kinds)
    if captured.values:
        assert {k: report.readings[0].get(k) for k in captured.values} == captured.values


def test_the_network_a_frame_came_through_is_read_from_its_base_stations() -> None:
    """Count, timing advance, MCC, MNC: in the frames others captured (China, Israel, the US) and none
    where the watch listed no base station."""
    networks = {}
    for captured in FRAMES:
        [read] = FrameReader().feed(captured.raw)
        networks[captured.raw[:40]] = interpret(read, NOW).network
    found = set(networks.values())
    assert {"460-01", "460-00", "425-01", "310-410", "310-260"} <= found
    assert networks[b"[3G*9031853319*004E*UD2,220322,055105,A,"] is None  # "0,0": no base station
