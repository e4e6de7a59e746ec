"""Demo pendants speaking the binary GT06 protocol over real TCP sockets to the GT06 listener.

Each logs in with its IMEI and keeps its connection open like a real tracker: status packets
with the battery level, positions near home, and now and then an SOS or a fall as an alarm
packet (0x16), which it sends again until the listener answers. Packets follow the public
protocol description (`carecenter/devices/gt06_protocol.py`).
"""

import logging
import random
import socket
from dataclasses import dataclass
from datetime import datetime

from carecenter.devices.gt06_protocol import GPS_LBS_STATUS, LOGIN, STATUS, packet

log = logging.getLogger(__name__)
SOS, FALL = 0x01, 0x23  # the alarm byte
ALARM = min(GPS_LBS_STATUS)  # 0x16
POSITION = 0x22
BASE_STATION = bytes.fromhex("01CC00287D001F71")  # MCC 460, MNC 0, LAC, cell


@dataclass
class SimulatedTracker:
    address: tuple[str, int]
    imei: str
    home: tuple[float, float] | None
    rng: random.Random
    level: int = 6  # battery, 0-6
    _sock: socket.socket | None = None
    _serial: int = 0

    def step(self, now: datetime, *, sos_chance: float, fall_chance: float) -> int:
        """One packet (an alarm waits for its answer); returns 1 if the listener took it."""
        roll = self.rng.random()
        if self.rng.random() < 0.02:
            self.level = max(1, self.level - 1)
        if roll < sos_chance:
            return self._send(ALARM, self._gps(now) + b"\x09" + BASE_STATION + bytes([0, self.level, 4, SOS, 2]))
        if roll < sos_chance + fall_chance:
            return self._send(ALARM, self._gps(now) + b"\x09" + BASE_STATION + bytes([0, self.level, 4, FALL, 2]))
        if roll < 0.5 or self.home is None:
            return self._send(STATUS, bytes([0x44, self.level, 4, 0, 2]))
        return self._send(POSITION, self._gps(now) + BASE_STATION + b"\x00\x00\x01", answered=False)

    def _gps(self, now: datetime) -> bytes:
        lat, lon = self.home or (0.0, 0.0)
        lat, lon = lat + self.rng.uniform(-0.001, 0.001), lon + self.rng.uniform(-0.001, 0.001)
        flags = 1 << 12 | 1 << 10  # fixed, north, east
        clock = bytes([now.year - 2000, now.month, now.day, now.hour, now.minute, now.second])
        where = round(lat * 1_800_000).to_bytes(4) + round(lon * 1_800_000).to_bytes(4)
        return clock + b"\xc8" + where + b"\x00" + flags.to_bytes(2)

    def _send(self, protocol: int, content: bytes, *, answered: bool = True) -> int:
        for _ in range(2):  # an alarm that was not answered is sent again
            try:
                sock = self._connect()
                self._serial = (self._serial + 1) & 0xFFFF
                sock.sendall(packet(protocol, content, self._serial))
                if not answered or self._answer(sock, protocol):
                    return 1
            except OSError as exc:
                log.debug("demo tracker %s: %s", self.imei, exc)
                self.close()
        return 0

    def _connect(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.create_connection(self.address, timeout=5)
            self._serial = (self._serial + 1) & 0xFFFF
            self._sock.sendall(packet(LOGIN, bytes.fromhex(self.imei.rjust(16, "0")), self._serial))
            self._answer(self._sock, LOGIN)
        return self._sock

    def _answer(self, sock: socket.socket, protocol: int) -> bool:
        """Wait for the answer to `protocol` (answers are short packets: 78 78 05 …, 10 bytes)."""
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionResetError("the listener closed the connection")
            data += chunk
            while len(data) >= 10:
                answer, data = data[: 5 + data[2]], data[5 + data[2] :]
                if answer[3] == protocol:
                    return True

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
