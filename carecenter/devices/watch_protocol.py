"""The plain-text protocol of Chinese 4G elderly watches and pendants ("3G*", "SG*", "CS*" frames).

Pure: bytes in, frames and reading dicts out; no sockets, no database, no clock.

Sources (public descriptions of the protocol, facts only): the vendors' "3G watch protocol"
documents as listed on https://www.traccar.org/protocols/ (protocol "watch"), and the issue
that specifies what CareCenter answers. A frame is

    [VENDOR*DEVICEID*LEN*CONTENT]          e.g. [3G*8800000015*0002*LK]
    [VENDOR*DEVICEID*IDX*LEN*CONTENT]      some vendors (e.g. ZJ) add a 4-hex-digit index

where LEN is 4 hex digits meant to be the byte length of CONTENT. It is only a hint: many
watches get it wrong (`SG*` vendors typically send 3 more than the content), so frames are cut
on balanced brackets and `}`-escapes decoded (`}` 0x01..0x05 for `} [ ] , *`), as the reference
tracker servers do (traccar's WatchFrameDecoder: it cuts on the bracket that balances and never
reads LEN). CONTENT starts with a command word, then comma-separated fields. Position and alarm bodies are

    ddmmyy,hhmmss,A|V,lat,N|S,lon,E|W,speed,course,altitude,satellites,gsm,battery,steps,roll,
    status(hex),<base stations and Wi-Fi>...

with the alarm bits of `status` as the vendors document them: 0 and 17 low battery, 16 SOS,
18/19 leaving/entering a fence, 20 watch taken off, 21 and 22 fall. Device times are UTC.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_FRAME = 64 * 1024  # a frame still open past this closes the connection (LEN has 4 hex digits)
MAX_STEPS = 200_000  # what the check-in API accepts in a day
MAX_HEADER = 80  # "[" vendor "*" id "*" idx "*" len "*": a header longer than this is garbage
WHITESPACE = b" \t\r\n"  # some watches end a frame with a line break

_VENDOR = re.compile(rb"[A-Za-z0-9]{1,8}")
_DEVICE_ID = re.compile(rb"[A-Za-z0-9]{1,32}")
_HEX4 = re.compile(rb"[0-9A-Fa-f]{4}")

POSITION_WORDS = frozenset({"UD", "UD2", "UD_LTE", "UD_WCDMA", "UD3", "WT"})
ALARM_WORDS = frozenset({"AL", "AL_LTE", "ALCUSTOMER1"})
ANSWERED_WORDS = frozenset({"LK", "INIT", "TKQ", "TKQ2"})  # the protocol expects these echoed back

# Alarm bits of the status field, and the reading kind each one becomes. Bits 18/19 (the
# watch's own fence) are not used: CareCenter's geofence rule works from the position itself.
ALARM_BITS = {0: "low_battery", 16: "sos", 17: "low_battery", 20: "removed", 21: "fall", 22: "fall"}

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
    content: bytes  # with the `}` escapes decoded
    declared_length: int = -1  # LEN as the watch wrote it: a hint, often wrong (-1: not given)

    @property
    def length_matches(self) -> bool:
        """Whether LEN agrees with the content (many `SG*` watches send +3; the frame is read anyway)."""
        return self.declared_length == len(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    @property
    def word(self) -> str:
        """The command word, upper case (vital-sign words come in either case)."""
        return self.content.split(b",", 1)[0].strip().decode("ascii", "replace").upper()

    @property
    def fields(self) -> list[str]:
        return self.text.split(",")[1:]

    @property
    def payload(self) -> bytes:
        """The bytes after the command word and its comma (binary for `TK`, `JXTK` and `img`)."""
        parts = self.content.split(b",", 1)
        return parts[1] if len(parts) == 2 else b""


def encode(vendor: str, device_id: str, index: str | None, content: str) -> bytes:
    """A frame to the watch: an answer (`LK`, `AL`) or a command (`UPLOAD,600`)."""
    body = content.encode()
    middle = f"{index}*" if index is not None else ""
    return f"[{vendor}*{device_id}*{middle}{len(body):04X}*".encode() + body + b"]"


def answer(frame: Frame, word: str) -> bytes:
    """The answer to a frame, echoing its vendor, id and index."""
    return encode(frame.vendor, frame.device_id, frame.index, word)


# `}` escapes: binary payloads (voice, photos) carry `}` 0x01..0x05 for `} [ ] , *` so that the
# frame's own brackets and separators never appear in them.
_ESCAPED = re.compile(rb"\}[\x01-\x05]")
_UNESCAPE = {1: b"}", 2: b"[", 3: b"]", 4: b",", 5: b"*"}


def unescape(data: bytes) -> bytes:
    if b"}" not in data:
        return data
    return _ESCAPED.sub(lambda m: _UNESCAPE[m.group()[1]], data)


class FrameReader:
    """Cuts a TCP byte stream into frames as the reference tracker servers do: a frame ends at the
    `]` that balances its `[` (a Wi-Fi name may hold brackets), whatever LEN says.

    Several frames may come in one read and one may span reads; the scan resumes where it
    stopped, so a client sending a byte at a time costs no rescans.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scanned = 0  # how far the current frame has been scanned for its end
        self._depth = 0  # brackets open at _scanned

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
        if self._scanned == 0:
            skip = 0
            while skip < len(buf) and buf[skip] in WHITESPACE:
                skip += 1
            del buf[:skip]
            if not buf:
                return None
            if buf[0] != ord("["):
                raise FrameError("bytes outside a frame")
            self._scanned, self._depth = 1, 1
        end = self._end()
        if end is None:
            _check_header_so_far(buf)
            if len(buf) > MAX_FRAME:
                raise FrameError("a frame longer than 64 KB")
            return None
        raw = bytes(buf[: end + 1])
        del buf[: end + 1]
        self._scanned = self._depth = 0
        return _parse(raw)

    def _end(self) -> int | None:
        """The index of the `]` closing the frame, or None while it is open."""
        buf, pos = self._buffer, self._scanned
        while True:
            close = buf.find(b"]", pos)
            if close < 0:
                self._depth += buf.count(b"[", pos)
                self._scanned = len(buf)
                return None
            self._depth += buf.count(b"[", pos, close) - 1
            pos = close + 1
            if self._depth == 0:
                return close


def _check_header_so_far(buf: bytearray) -> None:
    """Refuse early what cannot become a header (rather than waiting 64 KB for its end)."""
    head = bytes(buf[1:MAX_HEADER])
    stars = head.count(b"*")
    if stars >= 3:
        head = head[: _nth(head, b"*", 3)]
    elif len(buf) >= MAX_HEADER:
        raise FrameError("malformed frame header")
    if not all(chr(b).isalnum() or b == ord("*") for b in head):
        raise FrameError("malformed frame header")


def _nth(data: bytes, sep: bytes, n: int) -> int:
    at = -1
    for _ in range(n):
        at = data.index(sep, at + 1)
    return at


def _parse(raw: bytes) -> Frame:
    """`[VENDOR*ID*LEN*CONTENT]` or `[VENDOR*ID*IDX*LEN*CONTENT]`, escapes decoded."""
    parts = raw[1:-1].split(b"*", 3)
    if len(parts) < 4 or len(parts[0]) + len(parts[1]) + len(parts[2]) + 3 > MAX_HEADER:
        raise FrameError("malformed frame header")
    vendor, device_id, first, rest = parts
    if not (_VENDOR.fullmatch(vendor) and _DEVICE_ID.fullmatch(device_id) and _HEX4.fullmatch(first)):
        raise FrameError("malformed frame header")
    index: str | None = None
    length = first
    if _HEX4.fullmatch(rest[:4]) and rest[4:5] == b"*":
        index, length, rest = first.decode(), rest[:4], rest[5:]
    return Frame(vendor.decode(), device_id.decode(), index, unescape(rest), int(length, 16))


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
    _put(reading, "steps", _steps(values, 0))
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
    _put(base, "steps", _steps(values, 13))
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
        _put(found, "heart_rate", _int(values, 0) or None)  # 0: no measurement (the watch is off the wrist)
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
    # S and W make a coordinate negative; some watches sign it themselves as well ("-9.0,W").
    lat = -abs(lat) if _get(values, 4) == "S" else lat
    lon = -abs(lon) if _get(values, 6) == "W" else lon
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


def _steps(values: list[str], index: int) -> int | None:
    """A step count, left out when the API would refuse it (some watches never reset theirs)."""
    value = _int(values, index)
    return value if value is not None and 0 <= value <= MAX_STEPS else None


def _float(values: list[str], index: int) -> float | None:
    try:
        value = float(_get(values, index))
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _put(reading: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        reading[name] = value
