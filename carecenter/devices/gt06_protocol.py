"""The binary GT06 protocol of personal trackers and pendants (Concox and its many clones).

Pure: bytes in, packets and reading dicts out; no sockets, no database, no clock.

Sources (public descriptions, facts only): Concox's "GT06 / GT06N communication protocol"
documents (packet layout, login, status, GPS/LBS and alarm packets, online commands 0x80 and
their answers 0x15/0x21, CRC-ITU) and the GT06N user manual's text commands (`SOS,A,…#`,
`TIMER,…#`, `WHERE#`), and which packets the most widely deployed open-source tracker server
(traccar, protocol "gt06") reads and answers. A packet is

    78 78 LEN  PROTO CONTENT… SERIAL(2) CRC(2) 0D 0A     LEN (1 byte): PROTO through CRC
    79 79 LEN(2) PROTO CONTENT… SERIAL(2) CRC(2) 0D 0A    the long form

with CRC-ITU (CRC-16/X.25) over LEN through SERIAL, and the serial number echoed in answers.
Times are UTC unless the model's profile says the clock is local. Positions are 1/1,800,000 of
a degree (1/30,000 of a minute); bit 12 of course/status is "fixed", bit 10 north, bit 11 west.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from carecenter.devices.models import CommandKind, DeviceProtocol
from carecenter.devices.networks import network
from carecenter.devices.protocol import (
    READING_ALARMS,
    SOS_SLOTS,
    CommandRequest,
    FrameError,
    Profile,
    Report,
    cut_frames,
    reading_time,
)

SHORT, LONG = b"\x78\x78", b"\x79\x79"
STOP = b"\r\n"
MAX_PACKET = 64 * 1024  # a long-form length past this is refused before its bytes arrive

LOGIN = 0x01
STATUS = 0x13  # heartbeat: terminal info, battery level, GSM signal, alarm and language
HEARTBEAT_2 = 0x23  # a variant's heartbeat (GK310): terminal info, voltage in 1/100 V, signal
STRING = 0x15  # the answer to a command (short form)
STRING_LONG = 0x21  # the answer to a command (long form)
COMMAND = 0x80  # a command from the server
TIME_REQUEST = 0x8A  # the device asks for the time
GPS_LBS = frozenset({0x10, 0x11, 0x12, 0x22, 0x2D, 0x37})  # positions with base stations
GPS_LBS_STATUS = frozenset({0x16, 0x26, 0x27})  # alarm packets: a position, base station, status, alarm
LBS_STATUS = 0x19  # an alarm without GPS: base station, status, alarm

# The alarm codes of the default profile: the alarm byte of status and alarm packets, and the
# alarm bits (3-5) of the terminal-information byte, as the GT06 documents define them.
DEFAULT_PROFILE = Profile(
    alarm_codes={
        "alarm:1": "sos",
        "alarm:2": "power_cut",
        "alarm:3": "vibration",
        "alarm:4": "fence_in",
        "alarm:5": "fence_out",
        "alarm:9": "vibration",
        "alarm:14": "low_battery",
        "alarm:15": "low_battery",
        "alarm:35": "fall",  # 0x23 on the models that detect falls
        "status:1": "vibration",
        "status:2": "power_cut",
        "status:3": "low_battery",
        "status:4": "sos",
        "status:6": "fence_out",
        "status:7": "removed",  # a wearable taken off (some vehicle models: over speed)
    }
)


def crc_itu(data: bytes) -> int:
    """CRC-16/X.25 (the GT06 documents' CRC-ITU): reflected 0x1021, initial and final 0xFFFF."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


@dataclass(frozen=True)
class Packet:
    protocol: int
    content: bytes  # between the protocol number and the serial number
    serial: int
    long: bool
    crc_ok: bool = True

    @property
    def word(self) -> str:
        return f"0x{self.protocol:02X}"


def packet(protocol: int, content: bytes, serial: int, *, long: bool = False) -> bytes:
    """A packet to the device (an answer or a command), with its length and CRC."""
    length = 1 + len(content) + 2 + 2
    body = (length.to_bytes(2) if long else bytes([length])) + bytes([protocol]) + content + serial.to_bytes(2)
    return (LONG if long else SHORT) + body + crc_itu(body).to_bytes(2) + STOP


class PacketReader:
    """Cuts a TCP byte stream into packets; several may come in one read, one may span reads."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> bool:
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[Packet]:
        self._buffer += data
        return cut_frames(self._next)

    def _next(self) -> Packet | None:
        buf = self._buffer
        if len(buf) < 2:
            if buf and buf[0] not in (0x78, 0x79):
                raise FrameError("bytes outside a packet")
            return None
        start = bytes(buf[:2])
        if start not in (SHORT, LONG):
            raise FrameError("bytes outside a packet")
        long = start == LONG
        head = 4 if long else 3
        if len(buf) < head:
            return None
        length = int.from_bytes(buf[2:4]) if long else buf[2]
        if length < 5:
            raise FrameError("a packet too short for its serial number and CRC")
        total = head + length + 2
        if total > MAX_PACKET:
            raise FrameError("a packet longer than 64 KB")
        if len(buf) < total:
            return None
        raw = bytes(buf[:total])
        del buf[:total]
        if raw[-2:] != STOP:
            raise FrameError("a packet that does not end as its length says")
        crc_ok = crc_itu(raw[2:-4]) == int.from_bytes(raw[-4:-2])
        return Packet(raw[head], raw[head + 1 : -6], int.from_bytes(raw[-6:-4]), long, crc_ok)


def event_id(imei: str, packet: Packet, kind: str, when: datetime | None) -> str:
    """The reading's idempotency key: a packet sent again (with a new serial number) is a duplicate."""
    stamp = when.isoformat() if when is not None else ""
    digest = hashlib.sha256(b"|".join((imei.encode(), bytes([packet.protocol]), stamp.encode(), packet.content)))
    return f"g{digest.hexdigest()[:40]}-{kind}"[:64]


class _Cursor:
    """Reads a packet's content front to back; running out is a short packet (IndexError)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise IndexError("short packet")
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def number(self, n: int) -> int:
        return int.from_bytes(self.take(n))

    @property
    def left(self) -> int:
        return len(self.data) - self.at


class Gt06Session:
    """One GT06 connection: the IMEI it logged in with, the serial numbers of commands sent."""

    __slots__ = ("_imei", "_serial", "framer")  # one per connection

    def __init__(self) -> None:
        self.framer = PacketReader()
        self._imei: str | None = None
        self._serial = 0

    def identify(self, frame: Packet) -> str | None:
        """The IMEI of a login packet (16 BCD digits, the first a padding 0)."""
        if frame.protocol != LOGIN or not frame.crc_ok or len(frame.content) < 8:
            return None
        return frame.content[:8].hex()[1:]

    def interpret(self, frame: Packet, received_at: datetime, profile: Profile) -> Report:
        if not frame.crc_ok:
            # Not read and not answered: the device sends it again. (TCP has its own checksums, so a
            # bad CRC is a firmware's, which shows at set-up: the device never logs in.)
            return Report(frame.word, refused="bad CRC")
        try:
            return self._interpret(frame, received_at, profile)
        except IndexError:  # shorter than its type says: nothing read, no answer (the device resends)
            return Report(frame.word, refused="a packet shorter than its type")

    def _interpret(self, p: Packet, received_at: datetime, profile: Profile) -> Report:
        answer = packet(p.protocol, b"", p.serial)
        if p.protocol == LOGIN:
            self._imei = self.identify(p)
            if self._imei is None:
                raise IndexError("short login")
            return Report("login", answer=answer)
        imei = self._imei or ""
        if p.protocol in (STRING, STRING_LONG):
            return _command_answer(p)
        if p.protocol == TIME_REQUEST:
            now = profile.device_clock(received_at)
            clock = bytes([now.year - 2000, now.month, now.day, now.hour, now.minute, now.second])
            return Report("time", answer=packet(TIME_REQUEST, clock, p.serial))
        cursor = _Cursor(p.content)
        if p.protocol == STATUS:
            return _heartbeat(imei, p, received_at, profile, answer, cursor)
        if p.protocol == HEARTBEAT_2:
            return _heartbeat(imei, p, received_at, profile, answer)
        if p.protocol in GPS_LBS or p.protocol in GPS_LBS_STATUS:
            return _position(imei, p, cursor, received_at, profile, answer)
        if p.protocol == LBS_STATUS:
            return _lbs_alarm(imei, p, cursor, received_at, profile, answer)
        return Report(p.word, answer=None if p.long else answer)  # the reference servers answer these too

    def encode_command(self, content: str, command_id: int) -> tuple[bytes, str]:
        """0x80 with the server flag (the command's id, so its answer finds it) and the text command."""
        flag = command_id & 0xFFFFFFFF
        text = content.encode("ascii", "replace")
        self._serial = (self._serial + 1) & 0xFFFF
        return packet(COMMAND, bytes([4 + len(text)]) + flag.to_bytes(4) + text, self._serial), str(flag)


def _command_answer(p: Packet) -> Report:
    cursor = _Cursor(p.content)
    if p.protocol == STRING:
        length = cursor.byte()
        flag = cursor.number(4)
        text = cursor.take(max(0, min(length - 4, cursor.left))).decode("ascii", "replace")
    else:
        flag = cursor.number(4)
        encoding = cursor.byte()
        data = cursor.take(cursor.left)
        text = data.decode("ascii", "replace") if encoding == 1 else data.decode("utf-16-be", "replace")
    return Report("command answer", replies_to=str(flag), reply_text=text.strip("\x00")[:200])


def _battery(level: int) -> int | None:
    """The GT06 battery level 0-6 as a percentage."""
    return round(level * 100 / 6) if 0 <= level <= 6 else None


def _status(cursor: _Cursor) -> tuple[list[str], int | None]:
    """Terminal information, battery level, GSM signal and the alarm byte: the alarm codes and the battery."""
    info = cursor.byte()
    battery = _battery(cursor.byte())
    cursor.byte()  # GSM signal
    codes = [f"status:{info >> 3 & 0b111}"]
    if cursor.left:
        codes.append(f"alarm:{cursor.byte()}")
    return codes, battery


def _alarms(report: Report, imei: str, p: Packet, profile: Profile, codes: list[str], stamp: str, when: Any) -> None:
    for meaning in profile.meanings(codes):
        if meaning in READING_ALARMS:
            report.readings.append(
                {"event_id": event_id(imei, p, meaning, when), "kind": meaning, "recorded_at": stamp}
            )
        else:
            report.events.append(meaning)


def _heartbeat(
    imei: str, p: Packet, received_at: datetime, profile: Profile, answer: bytes, status: _Cursor | None = None
) -> Report:
    """A heartbeat at the time the packet arrived, with the battery and alarms of its status if it has one."""
    when = received_at.replace(microsecond=0)
    reading: dict[str, Any] = {"event_id": event_id(imei, p, "heartbeat", when), "kind": "heartbeat"}
    reading["recorded_at"] = when.isoformat()
    codes, battery = _status(status) if status is not None else ([], None)
    if battery is not None:
        reading["battery_pct"] = battery
    report = Report("status" if status is not None else "heartbeat", readings=[reading], answer=answer)
    _alarms(report, imei, p, profile, codes, when.isoformat(), when)
    return report


def _device_time(cursor: _Cursor, profile: Profile) -> datetime | None:
    year, month, day, hour, minute, second = cursor.take(6)
    try:
        return profile.device_time_to_utc(datetime(2000 + year, month, day, hour, minute, second))  # noqa: DTZ001
    except ValueError:
        return None


def _position(imei: str, p: Packet, cursor: _Cursor, received_at: datetime, profile: Profile, answer: bytes) -> Report:
    device_time = _device_time(cursor, profile)
    cursor.byte()  # GPS information length and satellites
    lat, lon = cursor.number(4) / 1_800_000, cursor.number(4) / 1_800_000
    cursor.byte()  # speed, km/h
    flags = cursor.number(2)
    lat = lat if flags >> 10 & 1 else -lat
    lon = -lon if flags >> 11 & 1 else lon
    when = reading_time(device_time, received_at)
    stamp = when.isoformat()
    alarm = p.protocol in GPS_LBS_STATUS
    codes: list[str] = []
    battery = None
    network = None
    if alarm:
        length = cursor.byte()  # base station, with its own length
        network = _network(cursor.take(max(length, 9) - 1 if length else 0))
        codes, battery = _status(cursor)
    elif cursor.left >= LBS_LENGTH:  # 0x10 has two bytes of its own here, the others a base station
        network = _network(cursor.take(LBS_LENGTH))
    reading: dict[str, Any] = {"recorded_at": stamp}
    if battery is not None:
        reading["battery_pct"] = battery
    if flags >> 12 & 1 and -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0, 0):
        reading.update(kind="location", latitude=round(lat, 6), longitude=round(lon, 6))
    else:
        reading["kind"] = "heartbeat"
    when_id = device_time or received_at
    reading["event_id"] = event_id(imei, p, reading["kind"], when_id)
    report = Report("alarm" if alarm else "position", readings=[reading], answer=answer, network=network)
    _alarms(report, imei, p, profile, codes, stamp, when_id)
    return report


LBS_STATUS_LENGTH = 8 + 5  # base station; terminal information, battery, signal, alarm, language


def _lbs_alarm(imei: str, p: Packet, cursor: _Cursor, received_at: datetime, profile: Profile, answer: bytes) -> Report:
    if len(p.content) != LBS_STATUS_LENGTH:  # another family's 0x19 (several base stations): not an alarm
        return Report(p.word, answer=answer)
    network = _network(cursor.take(8))  # MCC, MNC, LAC, cell
    report = _heartbeat(imei, p, received_at, profile, answer, cursor)
    report.network = network
    return report


LBS_LENGTH = 8  # MCC (2), MNC (1), LAC (2), cell (3)


def _network(lbs: bytes) -> str | None:
    """MCC and MNC from a base station's bytes; bit 15 of the MCC set means a two-byte MNC."""
    if len(lbs) < 3:
        return None
    mcc = int.from_bytes(lbs[:2])
    if mcc & 0x8000:
        return network(mcc & 0x7FFF, int.from_bytes(lbs[2:4])) if len(lbs) >= 4 else None
    return network(mcc, lbs[2])


@dataclass(frozen=True)
class Gt06Protocol:
    name: str = "gt06"
    device_protocol: DeviceProtocol = DeviceProtocol.gt06
    default_profile: Profile = DEFAULT_PROFILE

    def open(self) -> Gt06Session:
        return Gt06Session()

    def command_content(self, request: CommandRequest) -> str:
        """The GT06N manual's text commands: `TIMER,T1,T2#`, `SOS,A,n1,n2,n3#`, `WHERE#`."""
        if request.kind == CommandKind.upload_interval:
            return f"TIMER,{request.seconds},{request.seconds}#"
        if request.kind == CommandKind.sos_numbers:
            return "SOS,A," + ",".join(request.numbers[:SOS_SLOTS]) + "#"
        return "WHERE#"


GT06 = Gt06Protocol()
