"""The plain-text protocol of Chinese 4G elderly watches and pendants ("3G*", "SG*", "CS*" frames).

Pure: bytes in, frames and reading dicts out; no sockets, no database, no clock.

Sources (public descriptions of the protocol, facts only): the vendors' "3G watch protocol"
documents as listed on https://www.traccar.org/protocols/ (protocol "watch"), and the issue
that specifies what CareCenter answers. A frame is

    [VENDOR*DEVICEID*LEN*CONTENT]          e.g. [3G*8800000015*0002*LK]
    [VENDOR*DEVICEID*IDX*LEN*CONTENT]      some vendors (e.g. ZJ) add a 4-hex-digit index

where LEN is 4 hex digits: the byte length of CONTENT. CONTENT starts with a command word,
then comma-separated fields. Position and alarm bodies are

    ddmmyy,hhmmss,A|V,lat,N|S,lon,E|W,speed,course,altitude,satellites,gsm,battery,steps,roll,
    status(hex),<base stations and Wi-Fi>...

with the alarm bits of `status` as the vendors document them: 16 SOS, 17 low battery, 18/19
leaving/entering a fence, 20 watch taken off, 21 and 22 fall. Device times are UTC.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_CONTENT = 0xFFFF  # LEN has 4 hex digits: a frame can never be longer than this plus its header
MAX_HEADER = 80  # "[" vendor "*" id "*" idx "*" len "*": a header longer than this is garbage
WHITESPACE = b" \t\r\n"  # some watches end a frame with a line break

_VENDOR = re.compile(rb"[A-Za-z0-9]{1,8}")
_DEVICE_ID = re.compile(rb"[A-Za-z0-9]{1,32}")
_HEX4 = re.compile(rb"[0-9A-Fa-f]{4}")
_HEX = b"0123456789ABCDEFabcdef"

POSITION_WORDS = frozenset({"UD", "UD2", "UD_LTE", "UD_WCDMA", "UD3", "WT"})
ALARM_WORDS = frozenset({"AL", "AL_LTE", "ALCUSTOMER1"})
ANSWERED_WORDS = frozenset({"LK", "INIT", "TKQ", "TKQ2"})  # the protocol expects these echoed back

# Alarm bits of the status field, and the reading kind each one becomes. Bits 18/19 (the
# watch's own fence) are not used: CareCenter's geofence rule works from the position itself.
ALARM_BITS = {16: "sos", 17: "low_battery", 20: "removed", 21: "fall", 22: "fall"}

# Clocks: an alarm whose device time is off is stored at the time it arrived (never refused).
MAX_SKEW_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=7)


class FrameError(Exception):
    """Input that is not the protocol: the connection it came on is closed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Frame:
    vendor: str
    device_id: str
    index: str | None  # the vendor's 4-hex-digit index, echoed in answers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    @property
    def word(self) -> str:
        """The command word, upper case (vital-sign words come in either case)."""
        return self.text.split(",", 1)[0].strip().upper()

    @property
    def fields(self) -> list[str]:
        return self.text.split(",")[1:]


def encode(vendor: str, device_id: str, index: str | None, content: str) -> bytes:
    """A frame to the watch: an answer (`LK`, `AL`) or a command (`UPLOAD,600`)."""
    body = content.encode()
    middle = f"{index}*" if index is not None else ""
    return f"[{vendor}*{device_id}*{middle}{len(body):04X}*".encode() + body + b"]"


def answer(frame: Frame, word: str) -> bytes:
    """The answer to a frame, echoing its vendor, id and index."""
    return encode(frame.vendor, frame.device_id, frame.index, word)


class FrameReader:
    """Cuts a TCP byte stream into frames: several may come in one read, one may span reads."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> bool:
        """A frame has begun and is not complete (what a client sending a byte a minute leaves)."""
        return bool(self._buffer.strip(WHITESPACE))

    def feed(self, data: bytes) -> list[Frame]:
        """The frames completed by `data`; raises FrameError on anything that is not a frame."""
        self._buffer += data
        frames: list[Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def _next(self) -> Frame | None:
        buf = self._buffer
        skip = 0
        while skip < len(buf) and buf[skip] in WHITESPACE:
            skip += 1
        del buf[:skip]
        if not buf:
            return None
        if buf[0] != ord("["):
            raise FrameError("bytes outside a frame")
        stars = [i for i, byte in enumerate(buf[:MAX_HEADER]) if byte == ord("*")][:3]
        if len(stars) < 3:
            if len(buf) >= MAX_HEADER or not all(chr(b).isalnum() or b == ord("*") for b in buf[1:]):
                raise FrameError("malformed frame header")
            return None
        vendor, device_id, first = buf[1 : stars[0]], buf[stars[0] + 1 : stars[1]], buf[stars[1] + 1 : stars[2]]
        if not (_VENDOR.fullmatch(vendor) and _DEVICE_ID.fullmatch(device_id) and _HEX4.fullmatch(first)):
            raise FrameError("malformed frame header")
        after = bytes(buf[stars[2] + 1 : stars[2] + 6])
        if _may_be_index(after) and len(after) < 5:
            return None  # cannot yet tell "[ZJ*ID*IDX*LEN*" from "[SG*ID*LEN*"
        if _may_be_index(after):
            index: str | None = first.decode()
            length, start = int(after[:4], 16), stars[2] + 6
        else:
            index, length, start = None, int(first, 16), stars[2] + 1
        end = start + length
        if len(buf) <= end:
            return None
        if buf[end] != ord("]"):
            raise FrameError("the length does not match the content")
        frame = Frame(vendor.decode(), device_id.decode(), index, bytes(buf[start:end]))
        del buf[: end + 1]
        return frame


def _may_be_index(after: bytes) -> bool:
    """Whether the bytes after the third star are (the start of) "HHHH*"."""
    return all(b in _HEX for b in after[:4]) and (len(after) < 5 or after[4] == ord("*"))


@dataclass
class Report:
    """What one frame means to CareCenter."""

    word: str
    readings: list[dict[str, Any]] = field(default_factory=list)  # ReadingIn bodies, with event ids
    cells: str | None = None  # base stations and Wi-Fi, raw, when there was no GPS fix
    reply: str | None = None  # the word to answer with once the readings are committed


def event_id(frame: Frame, kind: str, when: datetime) -> str:
    """The reading's idempotency key, from the frame itself: a resent frame is a duplicate."""
    digest = hashlib.sha256(
        b"|".join((frame.device_id.encode(), frame.word.encode(), when.isoformat().encode(), frame.content))
    ).hexdigest()
    return f"w{digest[:40]}-{kind}"[:64]


def interpret(frame: Frame, received_at: datetime) -> Report:
    """The readings a frame carries and what to answer; an unknown word gives an empty report."""
    word = frame.word
    if word == "LK":
        return _keepalive(frame, received_at)
    if word in POSITION_WORDS or word in ALARM_WORDS:
        return _position(frame, received_at, alarm=word in ALARM_WORDS)
    vitals = _vitals(frame)
    if vitals:
        when = received_at.replace(microsecond=0)
        reading = {"kind": "vitals", "recorded_at": when.isoformat(), **vitals}
        return Report(word, [{"event_id": event_id(frame, "vitals", when), **reading}])
    return Report(word, reply=word if word in ANSWERED_WORDS else None)


def _keepalive(frame: Frame, received_at: datetime) -> Report:
    values = frame.fields  # LK[,steps,roll,battery]
    when = received_at.replace(microsecond=0)
    reading: dict[str, Any] = {"kind": "heartbeat", "recorded_at": when.isoformat()}
    _put(reading, "steps", _int(values, 0))
    _put(reading, "battery_pct", _battery(values, 2))
    return Report("LK", [{"event_id": event_id(frame, "heartbeat", when), **reading}], reply="LK")


def _position(frame: Frame, received_at: datetime, *, alarm: bool) -> Report:
    values = frame.fields
    device_time = _device_time(values)
    when = device_time if device_time is not None and _plausible(device_time, received_at) else None
    report = Report(frame.word, reply="AL" if alarm else None)
    stamp = (when or received_at.replace(microsecond=0)).isoformat()
    fixed = _get(values, 2) == "A"
    base: dict[str, Any] = {"recorded_at": stamp}
    _put(base, "battery_pct", _battery(values, 12))
    _put(base, "steps", _int(values, 13))
    position = _coordinates(values) if fixed else None
    if position is not None:
        reading = {"kind": "location", **base, "latitude": position[0], "longitude": position[1]}
    else:
        reading = {"kind": "heartbeat", **base}
        report.cells = ",".join(values[16:])[:2000] or None  # V: no fix; the cells and Wi-Fi, raw
    when_id = when or device_time or received_at
    report.readings.append({"event_id": event_id(frame, reading["kind"], when_id), **reading})
    if alarm:
        # One reading per alarm bit, carrying nothing but the alarm: a bad battery or position
        # value can then never make the SOS itself be refused.
        status = _status(values)
        for kind in dict.fromkeys(kind for bit, kind in ALARM_BITS.items() if status >> bit & 1):
            report.readings.append({"event_id": event_id(frame, kind, when_id), "kind": kind, "recorded_at": stamp})
    return report


def _vitals(frame: Frame) -> dict[str, Any]:
    """`heart,hr` · `bphrt,sys,dia,hr,…` · `BLOOD,sys,dia` · `oxygen,x,spo2` · `btemp2,flag,temp` · `TEMP,temp`."""
    word, values = frame.word, frame.fields
    found: dict[str, Any] = {}
    if word in ("HEART", "PULSE"):
        _put(found, "heart_rate", _int(values, 0))
    elif word == "BPHRT":
        _put(found, "systolic", _int(values, 0))
        _put(found, "diastolic", _int(values, 1))
        _put(found, "heart_rate", _int(values, 2))
    elif word == "BLOOD":
        _put(found, "systolic", _int(values, 0))
        _put(found, "diastolic", _int(values, 1))
    elif word == "OXYGEN":
        _put(found, "spo2", _int(values, 1))
    elif word == "BTEMP2":
        _put(found, "temperature", _float(values, 1))
    elif word == "TEMP":
        _put(found, "temperature", _float(values, 0))
    return found


def _device_time(values: list[str]) -> datetime | None:
    try:
        return datetime.strptime(_get(values, 0) + _get(values, 1), "%d%m%y%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _plausible(when: datetime, received_at: datetime) -> bool:
    return received_at - MAX_AGE <= when <= received_at + MAX_SKEW_FUTURE


def _coordinates(values: list[str]) -> tuple[float, float] | None:
    lat, lon = _float(values, 3), _float(values, 5)
    if lat is None or lon is None:
        return None
    lat = -lat if _get(values, 4) == "S" else lat
    lon = -lon if _get(values, 6) == "W" else lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return lat, lon


def _status(values: list[str]) -> int:
    try:
        return int(_get(values, 15), 16)
    except ValueError:
        return 0


def _get(values: list[str], index: int) -> str:
    return values[index].strip() if index < len(values) else ""


def _int(values: list[str], index: int) -> int | None:
    try:
        return int(_get(values, index))
    except ValueError:
        return None


def _battery(values: list[str], index: int) -> int | None:
    """A battery level, left out when it is not a percentage (a bad value must not cost the reading)."""
    value = _int(values, index)
    return value if value is not None and 0 <= value <= 100 else None


def _float(values: list[str], index: int) -> float | None:
    try:
        value = float(_get(values, index))
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _put(reading: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        reading[name] = value
