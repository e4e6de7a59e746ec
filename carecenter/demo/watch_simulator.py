"""Demo watches speaking the 4G watch protocol over real TCP sockets to the watch listener.

Each keeps its connection open like a real watch: keep-alives with the battery, positions near
home, heart rates, and now and then an SOS or a fall as an AL frame, which it sends again until
the listener answers (as the watches do). Frames follow the public protocol description
(`carecenter/devices/watch_protocol.py`).
"""

import logging
import random
import socket
from dataclasses import dataclass, field
from datetime import datetime

from carecenter.devices.watch_protocol import Frame, FrameReader, encode

log = logging.getLogger(__name__)
SOS_BIT, FALL_BIT = 1 << 16, 1 << 21


@dataclass
class SimulatedWatch:
    address: tuple[str, int]
    serial: str
    home: tuple[float, float] | None
    rng: random.Random
    battery: int = 90
    steps: int = 0
    _sock: socket.socket | None = None
    _reader: FrameReader = field(default_factory=FrameReader)

    def step(self, now: datetime, *, sos_chance: float, fall_chance: float) -> int:
        """One frame (an alarm waits for its answer); returns 1 if the listener took it."""
        roll = self.rng.random()
        self.steps += self.rng.randint(0, 40)
        self.battery = max(5, self.battery - (1 if self.rng.random() < 0.03 else 0))
        if roll < sos_chance:
            return self._send(self._position("AL", now, SOS_BIT), expect="AL")
        if roll < sos_chance + fall_chance:
            return self._send(self._position("AL", now, FALL_BIT), expect="AL")
        if roll < 0.3:
            return self._send(f"LK,{self.steps},0,{self.battery}", expect="LK")
        if roll < 0.6 and self.home:
            return self._send(self._position("UD", now, 0))
        return self._send(f"heart,{self.rng.randint(60, 95)}")

    def _position(self, word: str, now: datetime, status: int) -> str:
        lat, lon = self.home or (0.0, 0.0)
        lat, lon = lat + self.rng.uniform(-0.001, 0.001), lon + self.rng.uniform(-0.001, 0.001)
        fix = "A" if self.home else "V"
        return (
            f"{word},{now:%d%m%y},{now:%H%M%S},{fix},{lat:.6f},N,{lon:.6f},E,0.00,0.0,50,8,80,"
            f"{self.battery},{self.steps},0,{status:08X},1,1,460,0,4306,21813,-71"
        )

    def _send(self, content: str, expect: str | None = None) -> int:
        for _ in range(2):  # an alarm that was not answered is sent again
            try:
                sock = self._connect()
                sock.sendall(encode("3G", self.serial, None, content))
                if expect is None or self._answer(sock, expect):
                    return 1
            except OSError as exc:
                log.debug("demo watch %s: %s", self.serial, exc)
                self.close()
        return 0

    def _connect(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.create_connection(self.address, timeout=5)
            self._reader = FrameReader()
        return self._sock

    def _answer(self, sock: socket.socket, word: str) -> bool:
        while True:
            data = sock.recv(4096)
            if not data:
                raise ConnectionResetError("the listener closed the connection")
            frames: list[Frame] = self._reader.feed(data)
            if any(frame.word == word for frame in frames):
                return True

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
