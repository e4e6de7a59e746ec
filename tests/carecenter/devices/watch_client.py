"""A watch as the tests drive it: a real TCP socket speaking frames written from the protocol's description."""

from datetime import datetime

from carecenter.devices.watch_protocol import Frame, FrameReader
from tests.carecenter.devices.device_socket import DeviceSocket


def frame(device_id: str, content: str, *, vendor: str = "3G", index: str | None = None) -> bytes:
    """A frame as a watch sends it; LEN is the content's byte length in 4 hex digits."""
    body = content.encode()
    middle = f"{index}*" if index else ""
    return f"[{vendor}*{device_id}*{middle}{len(body):04X}*".encode() + body + b"]"


def position(
    word: str,
    at: datetime,
    *,
    fix: bool = True,
    lat: float = 39.76,
    lon: float = 116.21,
    battery: int = 80,
    status: int = 0,
    cells: str = "3,1,460,0,9360,4082,131,9360,4092,148",
) -> str:
    """A UD/AL body: date, time, A|V, lat, N, lon, E, speed, course, altitude, satellites, gsm,
    battery, steps, roll, status (hex), then base stations."""
    return (
        f"{word},{at:%d%m%y},{at:%H%M%S},{'A' if fix else 'V'},{lat:.6f},N,{lon:.6f},E,0.00,0.0,45,8,80,"
        f"{battery},1200,0,{status:08X},{cells}"
    )


class Watch(DeviceSocket):
    def __init__(self, port: int, device_id: str, source: str = "127.0.0.1") -> None:
        super().__init__(port, source)
        self.device_id = device_id
        self.reader = FrameReader()
        self.frames: list[Frame] = []

    def send(self, content: str, **kwargs: str | None) -> None:
        self.raw(frame(self.device_id, content, **kwargs))  # type: ignore[arg-type]

    def receive(self, timeout: float = 5) -> Frame:
        """The next frame the server sends; fails if none comes in time."""
        self.frames.extend(self.reader.feed(self.unread))
        self.unread = b""
        while not self.frames:
            self.frames.extend(self.reader.feed(self.recv(timeout)))
        return self.frames.pop(0)
