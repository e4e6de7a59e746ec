"""What a device protocol is to the listener: a framer, an interpreter and an encoder, per connection.

A protocol module (the text watches' `watch_protocol`, the binary `gt06_protocol`) implements
`ProtocolSession` and is one line in `devices/registry.py`. The generic listener
(`devices/listener.py`) holds the connections of any protocol, identifies devices, sends
readings through the one ingestion path, answers after the commit, and queues commands.
Pure: no sockets, no database, no clock.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from carecenter.devices.models import ClockKind, CommandKind, DeviceProtocol, MediaKind

T = TypeVar("T")


class FrameError(Exception):
    """Input that is not the protocol: the connection it came on is closed. `frames` are the whole
    frames that came before it in the same read, which are still handled (an SOS and then noise)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.frames: list[Any] = []


def cut_frames(next_frame: Callable[[], T | None]) -> list[T]:
    """Every frame `next_frame` completes from what a framer holds; a FrameError carries the ones
    cut before it (they are still handled)."""
    frames: list[T] = []
    try:
        while (frame := next_frame()) is not None:
            frames.append(frame)
    except FrameError as exc:
        exc.frames = frames
        raise
    return frames


@dataclass(frozen=True)
class Profile:
    """The model's profile as a protocol reads it (see `devices/profiles.py`)."""

    clock: ClockKind = ClockKind.utc
    clock_zone: str = "Asia/Shanghai"
    alarm_codes: dict[str, str] = field(default_factory=dict)

    def device_time_to_utc(self, naive: datetime) -> datetime:
        """A time as the device's clock shows it, in UTC."""
        if self.clock == ClockKind.local:
            return naive.replace(tzinfo=ZoneInfo(self.clock_zone)).astimezone(UTC)
        return naive.replace(tzinfo=UTC)

    def device_clock(self, at: datetime) -> datetime:
        """An instant as the device's clock shows it (naive)."""
        if self.clock == ClockKind.local:
            return at.astimezone(ZoneInfo(self.clock_zone)).replace(tzinfo=None)
        return at.astimezone(UTC).replace(tzinfo=None)

    def meanings(self, codes: list[str]) -> list[str]:
        """What these alarm codes mean, each meaning once, in the order given (unknown codes: nothing)."""
        return list(dict.fromkeys(m for c in codes if (m := self.alarm_codes.get(c)) not in (None, "ignore")))


# Alarm meanings that become readings (and so alerts through the rules); the rest are events.
READING_ALARMS = frozenset({"sos", "fall", "low_battery", "removed"})

# Clocks: a reading whose device time is off is stored at the time it arrived (never refused).
MAX_SKEW_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=7)


def reading_time(device_time: datetime | None, received_at: datetime) -> datetime:
    """The device's time when it is plausible, else the time the frame arrived (to the second)."""
    if device_time is not None and received_at - MAX_AGE <= device_time <= received_at + MAX_SKEW_FUTURE:
        return device_time
    return received_at.replace(microsecond=0)


@dataclass(frozen=True)
class Media:
    kind: MediaKind
    data: bytes
    content_type: str


@dataclass
class Report:
    """What one frame means to CareCenter."""

    word: str  # what the frame was: the metrics' label and the device's last frame
    readings: list[dict[str, Any]] = field(default_factory=list)  # ReadingIn bodies, with event ids
    cells: str | None = None  # base stations and Wi-Fi, raw, when there was no GPS fix
    network: str | None = None  # the mobile network the frame came through ("460-00"), when it says
    answer: bytes | None = None  # written once the readings (and media) are committed
    media: Media | None = None  # a voice message or photo to keep
    events: list[str] = field(default_factory=list)  # alarms that are not readings (power cut, the device's fence)
    replies_to: str | None = None  # the key of the command this frame answers
    reply_text: str | None = None  # the device's answer to that command, as text
    suspect: str | None = None  # why the frame looked wrong though it was read (the text watches' LEN)
    refused: str | None = None  # why the frame was not read (a bad CRC): counted and logged, not answered


class Framer(Protocol):
    @property
    def pending(self) -> bool:
        """A frame has begun and is not complete."""
        ...

    def feed(self, data: bytes) -> list[Any]:
        """The frames completed by `data`; raises FrameError on anything that is not the protocol,
        with the frames completed before it."""
        ...


class ProtocolSession(Protocol):
    """One connection's view of its protocol: what it needs to remember between frames."""

    @property
    def framer(self) -> Framer: ...

    def identify(self, frame: Any) -> str | None:
        """The device id a frame names (a text watch: every frame; GT06: the login), else None."""
        ...

    def interpret(self, frame: Any, received_at: datetime, profile: Profile) -> Report:
        """The readings a frame carries and what to answer once they are committed."""
        ...

    def encode_command(self, content: str, command_id: int) -> tuple[bytes, str]:
        """The bytes that send a command, and the key the device's answer will carry."""
        ...


SOS_SLOTS = 3  # the watches and trackers hold three SOS numbers


@dataclass(frozen=True)
class CommandRequest:
    kind: CommandKind
    seconds: int | None = None
    numbers: tuple[str, ...] = ()  # the SOS numbers, as dialled


class DeviceProtocolSpec(Protocol):
    @property
    def name(self) -> str:
        """In logs, metrics and settings (`CARECENTER_<NAME>_PORT`)."""
        ...

    @property
    def device_protocol(self) -> DeviceProtocol: ...

    @property
    def default_profile(self) -> Profile: ...

    def open(self) -> ProtocolSession:
        """A new connection's session."""
        ...

    def command_content(self, request: CommandRequest) -> str:
        """The command as stored and shown (`UPLOAD,600`; `SOS,A,139…#`): what `encode_command` sends."""
        ...
