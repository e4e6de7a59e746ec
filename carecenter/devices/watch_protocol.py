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
18/19 leaving/entering a fence, 20 watch taken off, 21 and 22 fall (a model's profile may map
them otherwise). Device times are UTC unless the model's profile says the clock is local.
Besides positions, alarms and vital signs, a watch sends voice messages (`TK`, or `JXTK` in
parts, AMR audio) and photos (`img`, JPEG), kept as the device's media.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from carecenter.devices.models import CommandKind, DeviceProtocol, MediaKind
from carecenter.devices.networks import network_of_text
from carecenter.devices.protocol import (
    READING_ALARMS,
    SOS_SLOTS,
    CommandRequest,
    FrameError,
    Media,
    Profile,
    Report,
    cut_frames,
    reading_time,
)

MAX_FRAME = 64 * 1024  # a frame still open past this closes the connection (LEN has 4 hex digits)
MAX_STEPS = 200_000  # what the check-in API accepts in a day
MAX_HEADER = 80  # "[" vendor "*" id "*" idx "*" len "*": a header longer than this is garbage
WHITESPACE = b" \t\r\n"  # some watches end a frame with a line break

_VENDOR = re.compile(rb"[A-Za-z0-9]{1,8}")
_DEVICE_ID = re.compile(rb"[A-Za-z0-9]{1,32}")
_HEX4 = re.compile(rb"[0-9A-Fa-f]{4}")

POSITION_WORDS = frozenset({"UD", "UD2", "UD_LTE", "UD_WCDMA", "UD3", "WT"})
ALARM_WORDS = frozenset({"AL", "AL_LTE", "ALCUSTOMER1"})
# Words the watch expects an answer to, beside LK, AL, TK and JXTK (the reference servers' answers).
ANSWERS = {"INIT": "INIT,1", "TKQ": "TKQ", "TKQ2": "TKQ2"}


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

    __slots__ = ("_buffer", "_depth", "_scanned")

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
        return cut_frames(self._next)

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


def event_id(frame: Frame, kind: str, when: datetime) -> str:
    """The reading's idempotency key, from the frame itself: a resent frame is a duplicate."""
    digest = hashlib.sha256(
        b"|".join((frame.device_id.encode(), frame.word.encode(), when.isoformat().encode(), frame.content))
    ).hexdigest()
    return f"w{digest[:40]}-{kind}"[:64]


# The default profile's alarm codes: bits of the status field (see the module's docstring).
DEFAULT_PROFILE = Profile(
    alarm_codes={
        "bit:0": "low_battery",
        "bit:16": "sos",
        "bit:17": "low_battery",
        "bit:18": "fence_out",
        "bit:19": "fence_in",
        "bit:20": "removed",
        "bit:21": "fall",
        "bit:22": "fall",
    }
)


def interpret(frame: Frame, received_at: datetime, profile: Profile = DEFAULT_PROFILE) -> Report:
    """The readings a frame carries and what to answer; a word CareCenter does not read gives an empty report."""
    word = frame.word
    report = _interpret(frame, word, received_at, profile)
    report.suspect = None if frame.length_matches else "length field mismatch"
    report.replies_to, report.reply_text = word, frame.text[:200]  # a command's answer starts with its word
    return report


def _interpret(frame: Frame, word: str, received_at: datetime, profile: Profile) -> Report:
    if word == "LK":
        return _keepalive(frame, received_at)
    if word in POSITION_WORDS or word in ALARM_WORDS:
        return _position(frame, received_at, profile, alarm=word in ALARM_WORDS)
    if word == "TK":
        return _voice(frame)
    if word == "IMG":
        return _photo(frame)
    vitals = _vitals(frame)
    if vitals:
        when = received_at.replace(microsecond=0)
        reading = {"kind": "vitals", "recorded_at": when.isoformat(), **vitals}
        return Report(word, readings=[{"event_id": event_id(frame, "vitals", when), **reading}])
    reply = ANSWERS.get(word)
    return Report(word, answer=answer(frame, reply) if reply is not None else None)


def _keepalive(frame: Frame, received_at: datetime) -> Report:
    values = frame.fields  # LK[,steps,roll,battery]
    when = received_at.replace(microsecond=0)
    reading: dict[str, Any] = {"kind": "heartbeat", "recorded_at": when.isoformat()}
    _put(reading, "steps", _steps(values, 0))
    _put(reading, "battery_pct", _battery(values, 2))
    return Report(
        "LK", readings=[{"event_id": event_id(frame, "heartbeat", when), **reading}], answer=answer(frame, "LK")
    )


def _position(frame: Frame, received_at: datetime, profile: Profile, *, alarm: bool) -> Report:
    values = frame.fields
    device_time = _device_time(values, profile)
    when = reading_time(device_time, received_at)
    report = Report(frame.word, answer=answer(frame, "AL") if alarm else None)
    stamp = when.isoformat()
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
    if _int(values, 16):  # base stations: their count, the timing advance, then MCC and MNC
        report.network = network_of_text(_get(values, 18), _get(values, 19))
    when_id = device_time or received_at
    report.readings.append({"event_id": event_id(frame, reading["kind"], when_id), **reading})
    if alarm:
        # One reading per alarm, carrying nothing but the alarm: a bad battery or position value
        # can then never make the SOS itself be refused.
        status = _status(values)
        meanings = profile.meanings([f"bit:{bit}" for bit in range(32) if status >> bit & 1])
        for kind in meanings:
            if kind in READING_ALARMS:
                report.readings.append({"event_id": event_id(frame, kind, when_id), "kind": kind, "recorded_at": stamp})
            else:
                report.events.append(kind)
    return report


MAX_VOICE_PARTS = 32  # a JXTK message in more parts than this is not kept


def _voice(frame: Frame) -> Report:
    """`TK,<AMR audio>`: a voice message (`TK,1` / `TK,0` is the watch's answer to one sent to it)."""
    audio = frame.payload
    if len(audio) <= 1:
        return Report("TK")
    return Report("TK", media=Media(MediaKind.voice, audio, "audio/amr"), answer=answer(frame, "TK,1"))


def _photo(frame: Frame) -> Report:
    """`img,<…>,<time>,<JPEG>`: a photo the watch took (after the `rcapture` command)."""
    start = frame.payload.find(b"\xff\xd8")  # the JPEG's start-of-image marker
    if start < 0:
        return Report("IMG")
    return Report("IMG", media=Media(MediaKind.photo, frame.payload[start:], "image/jpeg"))


class WatchSession:
    """One watch connection: the vendor and index its answers echo, the parts of a voice message."""

    __slots__ = ("_index", "_parts", "_serial", "_vendor", "framer")  # one per connection, 100,000 in a city

    def __init__(self) -> None:
        self.framer = FrameReader()
        self._vendor, self._serial = "3G", ""
        self._index: str | None = None
        self._parts: list[bytes] = []

    def interpret(self, frame: Frame, received_at: datetime, profile: Profile) -> Report:
        self._vendor, self._serial, self._index = frame.vendor, frame.device_id, frame.index
        if frame.word == "JXTK":
            return self._voice_part(frame)
        return interpret(frame, received_at, profile)

    def identify(self, frame: Frame) -> str:
        return frame.device_id

    def _voice_part(self, frame: Frame) -> Report:
        """`JXTK,<n>,<name>,<part>,<parts>,<AMR>`: a voice message in parts, each answered `JXTKR,1`."""
        head = frame.content.split(b",", 5)
        try:
            part, parts = int(head[3]), int(head[4])
        except (IndexError, ValueError):
            return Report("JXTK")
        if part == 1:
            self._parts = []
        self._parts.append(head[5] if len(head) > 5 else b"")
        report = Report("JXTK", answer=answer(frame, "JXTKR,1"))
        if part >= parts or len(self._parts) >= MAX_VOICE_PARTS:
            audio, self._parts = b"".join(self._parts), []
            report.media = Media(MediaKind.voice, audio, "audio/amr")
        return report

    def encode_command(self, content: str, command_id: int) -> tuple[bytes, str]:
        return encode(self._vendor, self._serial, self._index, content), content.split(",", 1)[0].upper()


@dataclass(frozen=True)
class WatchProtocol:
    name: str = "watch"
    device_protocol: DeviceProtocol = DeviceProtocol.watch_tcp
    default_profile: Profile = DEFAULT_PROFILE

    def open(self) -> WatchSession:
        return WatchSession()

    def command_content(self, request: CommandRequest) -> str:
        """`UPLOAD,600`, `SOS,n1,n2,n3` (empty slots blank), `CR` (locate now)."""
        if request.kind == CommandKind.upload_interval:
            return f"UPLOAD,{request.seconds}"
        if request.kind == CommandKind.sos_numbers:
            numbers = list(request.numbers[:SOS_SLOTS])
            return "SOS," + ",".join(numbers + [""] * (SOS_SLOTS - len(numbers)))
        return "CR"


WATCH = WatchProtocol()


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


def _device_time(values: list[str], profile: Profile) -> datetime | None:
    try:
        naive = datetime.strptime(_get(values, 0) + _get(values, 1), "%d%m%y%H%M%S")  # noqa: DTZ007 - the profile's zone
    except ValueError:
        return None
    return profile.device_time_to_utc(naive)


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
