"""Whatever bytes arrive, in whatever pieces, a protocol either reads frames or refuses the input with
FrameError (which closes that one connection): never another exception, which would be a bug."""

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from carecenter.devices.gt06_protocol import GT06
from carecenter.devices.protocol import DeviceProtocolSpec, FrameError
from carecenter.devices.watch_protocol import WATCH
from tests.carecenter.devices import gt06_client as gt06
from tests.carecenter.devices.captured_gt06_packets import PACKETS
from tests.carecenter.devices.captured_watch_frames import FRAMES
from tests.carecenter.devices.watch_client import frame

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
WATCH_SEEDS = [c.raw for c in FRAMES]
GT06_SEEDS = [c.raw for c in PACKETS] + [gt06.alarm(NOW, alarm=1), gt06.status(), gt06.command_answer(7, "OK")]


def mutated(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """Captured frames with bytes flipped, cut or inserted, or plain garbage."""
    flips = st.tuples(st.sampled_from(seeds), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6))
    cut = st.tuples(st.sampled_from(seeds), st.integers(0, 400))
    return st.one_of(
        flips.map(lambda t: bytes(_flip(t[0], t[1]))),
        cut.map(lambda t: t[0][: t[1]] + t[0]),
        st.binary(max_size=300),
        st.lists(st.sampled_from(seeds), max_size=4).map(b"".join),
    )


def _flip(data: bytes, changes: list[tuple[int, int]]) -> bytearray:
    out = bytearray(data)
    for at, value in changes:
        if out:
            out[at % len(out)] = value
    return out


def _feed_in_pieces(protocol: DeviceProtocolSpec, data: bytes, pieces: list[int]) -> None:
    session, profile = protocol.open(), protocol.default_profile
    at = 0
    try:
        for size in [*pieces, len(data)]:
            for frame in session.framer.feed(data[at : at + size]):
                session.identify(frame)
                report = session.interpret(frame, NOW, profile)
                assert report.word
            at += size
    except FrameError:
        pass


WORDS = ["LK", "UD", "AL", "ALCUSTOMER1", "heart", "bphrt", "BLOOD", "oxygen", "btemp2", "TEMP", "TK", "JXTK", "img"]
# A valid header around any content: the interpreter sees every word with any fields.
WATCH_CONTENT = st.tuples(st.sampled_from(WORDS), st.binary(max_size=120)).map(
    lambda t: frame("1234567890", "").replace(b"0000*]", b"") + _watch_body(t[0].encode() + b"," + t[1])
)
# A valid CRC around any content: the interpreter sees every packet type with any bytes.
GT06_CONTENT = st.tuples(
    st.sampled_from([0x01, 0x10, 0x12, 0x13, 0x15, 0x16, 0x19, 0x22, 0x23, 0x26, 0x27, 0x8A, 0x95]),
    st.binary(max_size=60),
).map(lambda t: gt06.build(t[0], t[1], 1))


def _watch_body(content: bytes) -> bytes:
    escaped = content.replace(b"}", b"}\x01").replace(b"[", b"}\x02").replace(b"]", b"}\x03").replace(b"*", b"}\x05")
    return f"{len(content):04X}*".encode() + escaped + b"]"


@settings(max_examples=300, deadline=None)
@given(st.one_of(mutated(WATCH_SEEDS), WATCH_CONTENT), st.lists(st.integers(1, 64), max_size=8))
def test_watch_frames_never_break_the_reader(data: bytes, pieces: list[int]) -> None:
    _feed_in_pieces(WATCH, data, pieces)


@settings(max_examples=300, deadline=None)
@given(st.one_of(mutated(GT06_SEEDS), GT06_CONTENT), st.lists(st.integers(1, 64), max_size=8))
def test_gt06_packets_never_break_the_reader(data: bytes, pieces: list[int]) -> None:
    _feed_in_pieces(GT06, data, pieces)
