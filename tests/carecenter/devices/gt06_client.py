"""A GT06 tracker as the tests drive it: a real TCP socket speaking packets built from the protocol's
description (Concox's GT06 documents), with its own CRC-ITU so that a test does not lean on the
code it checks."""

from datetime import datetime

from tests.carecenter.devices.device_socket import DeviceSocket


def crc16_x25(data: bytes) -> int:
    """CRC-16/X.25 written independently of the product's (check value of "123456789": 0x906E)."""
    crc = 0xFFFF
    for byte in data:
        for bit in range(8):
            mix = (crc ^ (byte >> bit)) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8408
    return ~crc & 0xFFFF


def build(protocol: int, content: bytes, serial: int) -> bytes:
    body = bytes([len(content) + 5, protocol]) + content + serial.to_bytes(2, "big")
    return b"\x78\x78" + body + crc16_x25(body).to_bytes(2, "big") + b"\r\n"


def login(imei: str, serial: int = 1) -> bytes:
    return build(0x01, bytes.fromhex(imei.rjust(16, "0")), serial)


def status(*, battery_level: int = 6, alarm: int = 0, info: int = 0, serial: int = 2) -> bytes:
    """0x13: terminal information, battery level (0-6), GSM signal, alarm, language."""
    return build(0x13, bytes([info, battery_level, 4, alarm, 2]), serial)


def _gps(at: datetime, lat: float, lon: float, *, fixed: bool = True) -> bytes:
    flags = (1 << 12 if fixed else 0) | (1 << 10 if lat >= 0 else 0) | (1 << 11 if lon < 0 else 0)
    clock = bytes([at.year - 2000, at.month, at.day, at.hour, at.minute, at.second])
    coordinates = round(abs(lat) * 1_800_000).to_bytes(4, "big") + round(abs(lon) * 1_800_000).to_bytes(4, "big")
    return clock + b"\xc9" + coordinates + b"\x00" + flags.to_bytes(2, "big")


CHINA_MOBILE_STATION = bytes.fromhex("01CC00287D001F71")  # MCC 460, MNC 0, LAC, cell


def position(
    at: datetime,
    lat: float = 39.76,
    lon: float = 116.21,
    *,
    serial: int = 3,
    fixed: bool = True,
    station: bytes = CHINA_MOBILE_STATION,
) -> bytes:
    """0x22: GPS, then a base station (MCC, MNC, LAC, cell), ACC, upload mode, real time."""
    return build(0x22, _gps(at, lat, lon, fixed=fixed) + station + bytes.fromhex("000001"), serial)


def alarm(
    at: datetime, *, alarm: int, info: int = 0, lat: float = 39.76, lon: float = 116.21, serial: int = 4
) -> bytes:
    """0x16: GPS, a base station with its length, terminal information, battery level, signal, alarm, language."""
    lbs = bytes.fromhex("0901CC00287D001F71")
    return build(0x16, _gps(at, lat, lon) + lbs + bytes([info, 5, 4, alarm, 2]), serial)


def command_answer(flag: int, text: str, serial: int = 9) -> bytes:
    """0x15: the device's answer to a command: length, the server flag it was sent with, the text."""
    data = text.encode()
    return build(0x15, bytes([4 + len(data)]) + flag.to_bytes(4, "big") + data + b"\x00\x02", serial)


class Tracker(DeviceSocket):
    def send(self, data: bytes) -> None:
        self.raw(data)

    def receive(self, timeout: float = 5) -> bytes:
        """The next whole packet the server sends, as bytes."""
        while True:
            if len(self.unread) >= 3:
                total = 2 + 1 + self.unread[2] + 2
                if self.unread[:2] == b"\x79\x79":
                    total = 2 + 2 + int.from_bytes(self.unread[2:4], "big") + 2
                if len(self.unread) >= total:
                    packet, self.unread = self.unread[:total], self.unread[total:]
                    return packet
            self.unread += self.recv(timeout)


def answer_to(packet: bytes) -> tuple[int, int]:
    """An answer's protocol number and serial number."""
    return packet[3], int.from_bytes(packet[-6:-4], "big")
