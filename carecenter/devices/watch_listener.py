"""The TCP listener 4G watches connect to: frames in, readings through the one ingestion path, answers out.

An asyncio server in its own thread (so it runs beside uvicorn in `serve` and `demo`, or alone
in `python main.py gateway`). Each connection belongs to one watch, known by the id in its first
frame; an id nobody registered is noted and the connection closed without an answer. Readings
go through the check-in writer (`CheckinBatcher`), and an answer the protocol expects (`LK`,
`AL`) is written only after the readings are committed: a watch that hears nothing sends again,
and the event id derived from the frame makes the repeat a duplicate. Anything that is not the
protocol closes that one connection; a silent connection, or a frame that never completes, is
closed after a while. Queued commands go out while the watch is connected.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlmodel import Session

from carecenter.devices import connections
from carecenter.devices.models import DeviceProtocol
from carecenter.devices.settings import DeviceSettings
from carecenter.devices.watch_protocol import Frame, FrameError, FrameReader, answer, encode, interpret
from carecenter.errors import NotAuthenticated
from carecenter.readings.batcher import CheckinBatcher
from carecenter.readings.models import CheckinResult

log = logging.getLogger(__name__)

FRAMES = Counter("carecenter_watch_frames", "Frames received from watches, by command word", ["word"])
CLOSED = Counter("carecenter_watch_connections_closed", "Watch connections closed, by reason", ["reason"])
LENGTH_MISMATCHES = Counter(
    "carecenter_watch_length_mismatches",
    "Frames whose LEN disagreed with their content (read anyway), by device id",
    ["device"],
)
CONNECTED = Gauge("carecenter_watch_connections", "Watch connections open in this process")
READ_SIZE = 4096
HOUSEKEEPING_SECONDS = 1.0
WATCHDOG_SECONDS = 0.5


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (socket reads and writes in C: a third of the loop's time per
    frame in Python's own loop), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


class _Close(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(eq=False)  # kept in a set, by identity
class _Connection:
    writer: asyncio.StreamWriter
    address: str
    device_id: int | None = None
    serial: str | None = None
    vendor: str = "3G"
    index: str | None = None
    awaiting: dict[str, int] = field(default_factory=dict)  # command word -> command id sent
    last_data: float = field(default_factory=time.monotonic)  # when bytes last arrived
    begun: float | None = None  # when the incomplete frame in the buffer began
    closing: str | None = None  # why the watchdog closed it

    def send(self, content: str) -> None:
        assert self.serial is not None
        self.writer.write(encode(self.vendor, self.serial, self.index, content))


class WatchListener:
    """`start()` listens on the configured port in a thread; `port` is the one bound (for port 0)."""

    def __init__(
        self,
        *,
        engine: sa.Engine,
        checkins: CheckinBatcher,
        settings: DeviceSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine, self.checkins, self.settings, self.clock = engine, checkins, settings, clock
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._connections: dict[int, _Connection] = {}
        self._notes: dict[int, connections.FrameNote] = {}
        self._connected: dict[int, datetime] = {}  # recorded with the next flush
        self._tasks: set[asyncio.Task[None]] = set()
        self._live: set[_Connection] = set()  # identified or not, for the watchdog

    # -- running ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="watch-listener", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._failure is not None:
            raise RuntimeError(f"the watch listener could not start: {self._failure}") from self._failure

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(15)

    def _run(self) -> None:
        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(self._main())
        except BaseException as exc:  # reported by start(); the thread must not die silently
            self._failure = exc
            self._ready.set()
            log.exception("the watch listener stopped")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._serve, self.settings.watch_host, self.settings.watch_port)
        self.port = server.sockets[0].getsockname()[1]
        log.info("watch listener on %s:%s", self.settings.watch_host, self.port)
        self._ready.set()
        housekeeping = asyncio.create_task(self._housekeeping())
        watchdog = asyncio.create_task(self._watchdog())
        await self._stopping.wait()
        server.close()
        for connection in list(self._connections.values()):
            connection.writer.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)  # each connection records its disconnection
        housekeeping.cancel()
        watchdog.cancel()
        await asyncio.gather(housekeeping, watchdog, return_exceptions=True)
        await self._flush_notes()
        gone, now = list(self._connections), self.clock()
        await self._write_devices(lambda s: connections.note_disconnected(s, device_ids=gone, now=now))

    async def _db(self, work: Callable[[Session], object]) -> object:
        """Run `work` in a transaction of its own, in a worker thread (the event loop never waits on it)."""

        def run() -> object:
            with Session(self.engine) as session:
                result = work(session)
                session.commit()
                return result

        return await asyncio.to_thread(run)

    async def _write_devices(self, work: Callable[[Session], object]) -> None:
        """Device rows in bulk go through the check-in writer, their one writer in this process."""
        await asyncio.wrap_future(self.checkins.run_between(work))

    # -- one connection ---------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        connection = _Connection(writer, f"{peer[0]}:{peer[1]}" if peer else "?")
        frames = FrameReader()
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        reason = "closed by the watch"
        CONNECTED.inc()
        self._live.add(connection)
        try:
            while data := await reader.read(READ_SIZE):  # the watchdog closes a silent one
                connection.last_data = time.monotonic()
                for frame in frames.feed(data):
                    await self._handle(connection, frame)
                connection.begun = (connection.begun or connection.last_data) if frames.pending else None
            reason = connection.closing or reason
        except FrameError as exc:
            reason = exc.reason
        except _Close as exc:
            reason = exc.reason
        except (ConnectionError, OSError) as exc:
            reason = f"connection error ({exc.__class__.__name__})"
        finally:
            self._live.discard(connection)
            CONNECTED.dec()
            CLOSED.labels(reason).inc()
            log.info("watch connection %s (%s) closed: %s", connection.address, connection.serial or "-", reason)
            writer.close()
            await self._forget(connection)

    async def _forget(self, connection: _Connection) -> None:
        device_id = connection.device_id
        if device_id is None or self._connections.get(device_id) is not connection:
            return
        del self._connections[device_id]
        self._connected.pop(device_id, None)  # connected and gone before the flush: only the leaving is news
        try:
            await self._db(lambda s: connections.note_disconnected(s, device_ids=[device_id], now=self.clock()))
        except sa.exc.SQLAlchemyError as exc:
            log.warning("could not record that watch %s disconnected: %s", connection.serial, exc)

    async def _handle(self, connection: _Connection, frame: Frame) -> None:
        now = self.clock()
        if connection.device_id is None:
            await self._identify(connection, frame, now)
        elif frame.device_id != connection.serial:
            raise _Close("a second device id on one connection")
        connection.vendor, connection.index = frame.vendor, frame.index
        if not frame.length_matches:
            LENGTH_MISMATCHES.labels(frame.device_id).inc()
        report = interpret(frame, now)
        FRAMES.labels(report.word if report.readings or report.reply else "other").inc()
        command_id = connection.awaiting.pop(report.word, None)
        if command_id is not None:
            text = frame.text
            await self._db(lambda s: connections.record_answer(s, command_id=command_id, answer=text, now=now))
        if report.readings:
            if not await self._ingest(connection, report.readings, now):
                return  # not committed: no answer, so the watch sends it again
        elif report.reply is None and command_id is None:
            log.debug("watch %s sent %r, which CareCenter does not use", connection.serial, frame.text[:200])
        assert connection.device_id is not None
        self._notes[connection.device_id] = connections.FrameNote(now, report.word, report.cells)
        if report.reply is not None:
            connection.writer.write(answer(frame, report.reply))
            await connection.writer.drain()

    async def _identify(self, connection: _Connection, frame: Frame, now: datetime) -> None:
        serial, address = frame.device_id, connection.address
        identity = await self._db(lambda s: connections.registered_watch(s, serial))
        if not isinstance(identity, connections.WatchIdentity):
            await self._db(
                lambda s: connections.note_unknown(
                    s, serial=serial, protocol=DeviceProtocol.watch_tcp, address=address, now=now
                )
            )
            raise _Close("unknown device id")
        connection.device_id, connection.serial = identity.device_id, identity.serial
        previous = self._connections.get(identity.device_id)
        if previous is not None:  # the watch reconnected before its old connection timed out
            previous.writer.close()
        self._connections[identity.device_id] = connection
        self._connected[identity.device_id] = now  # its queued commands go out with the next housekeeping

    async def _ingest(self, connection: _Connection, readings: list[dict[str, object]], now: datetime) -> bool:
        assert connection.device_id is not None
        try:
            answers = await self.checkins.store(raw=list(readings), now=now, device_id=connection.device_id)
        except NotAuthenticated:
            raise _Close("device revoked") from None
        except Exception as exc:  # the database is away: the watch will send it again
            log.warning("readings of watch %s not stored (%s); no answer sent", connection.serial, exc)
            return False
        for item in answers:
            if item.result == CheckinResult.rejected:
                log.info("watch %s: reading %s rejected: %s", connection.serial, item.event_id, item.reason)
        return True

    async def _watchdog(self) -> None:
        """Close connections that went silent, or whose frame never completed.

        One sweep over the connections twice a second, rather than a timer per read: with 20,000
        watches connected, a timer (and a task) each is most of what the loop does per frame."""
        idle, frame = self.settings.watch_idle_seconds, self.settings.watch_frame_seconds
        while True:
            await asyncio.sleep(WATCHDOG_SECONDS)
            now = time.monotonic()
            for connection in list(self._live):
                if connection.closing is not None:
                    continue
                if connection.begun is not None and now - connection.begun > frame:
                    connection.closing = "frame never completed"
                elif connection.begun is None and now - connection.last_data > idle:
                    connection.closing = "idle"
                else:
                    continue
                connection.writer.close()  # its read returns nothing: _serve records why

    # -- commands and bookkeeping -----------------------------------------------------------------
    async def _housekeeping(self) -> None:
        timeout = timedelta(seconds=self.settings.watch_command_timeout_seconds)
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            try:
                await self._flush_notes()
                await self._send_commands()
                await self._db(lambda s: connections.time_out_commands(s, now=self.clock(), timeout=timeout))
            except sa.exc.SQLAlchemyError as exc:
                log.warning("watch listener bookkeeping failed (will retry): %s", exc)

    async def _flush_notes(self) -> None:
        """Connections and last frames since the last flush, in one transaction (once a second)."""
        notes, self._notes = self._notes, {}
        connected, self._connected = self._connected, {}
        if notes or connected:

            def write(session: Session) -> None:
                connections.note_connected(session, since=connected)
                connections.note_frames(session, notes)

            await self._write_devices(write)

    async def _send_commands(self) -> None:
        """Queued commands for the connected watches (only the housekeeping sends: a command goes out once).

        A watch that has just connected waits for the next round (a second at most) rather than
        costing a query of its own: after a restart, 20,000 watches connect within a minute."""
        connected = dict(self._connections)
        if not connected:
            return
        commands = await self._db(lambda s: connections.commands_to_send(s, device_ids=list(connected)))
        assert isinstance(commands, list)
        now, sent = self.clock(), []  # the time-out counts from before the command went out
        for command in commands:
            connection = connected[command.device_id]
            connection.send(command.content)
            connection.awaiting[command.content.split(",", 1)[0].upper()] = command.id
            sent.append(command.id)
        if sent:
            await self._db(lambda s: connections.mark_sent(s, command_ids=sent, now=now))
