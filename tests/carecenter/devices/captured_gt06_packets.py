"""GT06 packets captured by others, byte for byte, with what CareCenter must answer and store.

Source: the public test suite of traccar (Apache-2.0),
src/test/java/org/traccar/protocol/Gt06ProtocolDecoderTest.java. Only the packets are taken
(data), not code; the expectations are CareCenter's own. None of them is an SOS or a fall: those
are built from the protocol's description in the tests (gt06_client.py).
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Captured:
    hex: str
    answered: bool  # answered with its own protocol number and serial number
    kinds: tuple[str, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)  # fields of the first reading
    events: tuple[str, ...] = ()  # alarms kept as the device's last event
    reply_text: str | None = None  # a command's answer
    refused: str | None = None

    @property
    def raw(self) -> bytes:
        return bytes.fromhex(self.hex)


LOGIN = "78780D01086471700328358100093F040D0A"  # IMEI 864717003283581, serial 9
LOGIN_IMEI = "864717003283581"

PACKETS: list[Captured] = [
    Captured(LOGIN, True),
    # positions (0x10, 0x11, 0x12, 0x22): fixed or not, N/S and E/W from the course's status bits
    Captured(
        "787822220F0C1D023305C9027AC8180C46586000140001CC00287D001F71000001000820860D0A",
        True,
        ("location",),
        {"latitude": 23.111693, "longitude": 114.409298},
    ),
    Captured(
        "7878241216040e102c22cf00915ffb04c6016300195a02d402283b00753f400571040001dda4880d0a",
        True,
        ("location",),
        {"latitude": -5.292939, "longitude": -44.491859},
    ),
    Captured(
        "78781f120f0a140e150bc505e51e780293a9e800540000f601006e0055da00035f240d0a",
        True,
        ("location",),
        {"latitude": 54.945347, "longitude": 24.017622},
    ),
    Captured("78782111150b0b022c30c804b7af7808810cb0003c00012e02d075df0084890c000679950d0a", True, ("location",)),
    Captured("787819100B031A0B1B31CC027AC7FD0C4657BF0115210001001CC6070D0A", True, ("location",)),
    Captured("787822221106160a1016c60278019407c7783800040001940504700046fc01030100065f570d0a", True, ("heartbeat",)),
    # status (heartbeat): battery level 6 of 6
    Captured("78780a13c40604000201298f5b0d0a", True, ("heartbeat",), {"battery_pct": 100}),
    Captured("78780B23C00122040001000818720D0A", True, ("heartbeat",)),
    # alarm packets (0x16): vibration, the pendant taken off (terminal information), power cut
    Captured(
        "787825160F0C1D0A2B21C8027AC8040C46581000146F0901CC00287D001F714804040301001C84CF0D0A",
        True,
        ("location",),
        {"battery_pct": 67},
        events=("vibration",),
    ),
    Captured(
        "7878251613020C12141AC5027951430C2A16F60014000900000000001A00007C550300020002F1E70D0A",
        True,
        ("location", "removed"),
    ),
    Captured(
        "7878251610051b0f1c34c5022515d504b5dcd20738080902d4022bdf009cba5006640201006759680d0a",
        True,
        ("location",),
        {"battery_pct": 100},
        events=("power_cut",),
    ),
    # another family's 0x19 (several base stations): answered, nothing read
    Captured("7878171915061810051a01f90101700d08c8f50c0000065494ae0d0a", True),
    # answers to commands: not answered back
    Captured(
        "7878281520000000003c49434349443a38393838323339303030303039373330323635303e00020d446f260d0a",
        False,
        reply_text="<ICCID:89882390000097302650>",
    ),
    Captured(
        "797900262100000000020043006f006d006d0061006e00640020006500720072006f0072002100236e850d0a",
        False,
        reply_text="Command error!",
    ),
    # a type CareCenter does not read, short and long form
    Captured("78780c95130a071223200100013ad10d0a", True),
    Captured("79790020940a035985708236675805200502187214018966051912408052452f000355560d0a", False),
    # refused: a CRC that does not match (the packet as printed in a vendor document), no content
    Captured("78781F120B081D112E10CC027AC7EB0C46584900148F01CC00287D001FB8000380810D0A", False, refused="bad CRC"),
    Captured("787805120099abec0d0a", False, refused="a packet shorter than its type"),
]

# Three packets in one read (a firmware's version string, sent three times).
THREE_IN_ONE = bytes.fromhex(
    "7979005bfd0358899050927725004c0020bf984358df603b2ea3a339e54335013a5b56455253494f4e5d47543036445f32305f3630444d"
    "325f423235455f5631355f574d5b4255494c445d323031332f31322f32382031353a3234002a3b240d0a7979005bfd035889905092772500"
    "4c0020bf984358df603b2ea3a339e54335013a5b56455253494f4e5d47543036445f32305f3630444d325f423235455f5631355f574d5b42"
    "55494c445d323031332f31322f32382031353a3234002d4f9b0d0a7979005bfd0358899050927725004c0020bf984358df603b2ea3a339e5"
    "4335013a5b56455253494f4e5d47543036445f32305f3630444d325f423235455f5631355f574d5b4255494c445d323031332f31322f3238"
    "2031353a3234003084ff0d0a"
)

# The login example of Concox's protocol document and its documented answer.
DOCUMENTED_LOGIN = bytes.fromhex("78780D01012345678901234500018CDD0D0A")
DOCUMENTED_LOGIN_ANSWER = bytes.fromhex("787805010001D9DC0D0A")
