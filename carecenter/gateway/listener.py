"""The TCP listener devices connect to, for any device protocol: frames in, readings through the
one ingestion path, answers out.

An asyncio server in its own thread (so it runs beside uvicorn in `serve` and `demo`, or alone
in `python main.py gateway`), one per protocol in `devices/registry.py`. The protocol
(`devices/protocol.py`) cuts the byte stream into frames, says which device a frame names, turns
a frame into readings and an answer, and encodes commands; everything else is here. Each
connection belongs to one device, known by the id in its first frame (a text watch) or its
login (GT06); an id nobody registered is noted and the connection closed without an answer.
Readings go through the check-in writer (`CheckinBatcher`), and an answer is written only after
the readings (and any voice message or photo) are committed: a device that hears nothing sends
again, and the event id derived from the frame makes the repeat a duplicate. Anything that is
not the protocol closes that one connection; a silent connection, or a frame that never
completes, is closed after a while. Queued commands go out while the device is connected.
"""

import asyncio
import logging
import resource
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlmodel import Session

from carecenter.devices import connections
from carecenter.devices.models import DeviceProtocol
from carecenter.devices.protocol import DeviceProtocolSpec, FrameError, Media, Profile, ProtocolSession
from carecenter.errors import NotAuthenticated
from carecenter.ingest.batcher import CheckinBatcher
from carecenter.media.store import MediaStore
from carecenter.readings.models import CheckinResult
from carecenter.settings.devices import DeviceSettings

log = logging.getLogger(__name__)

FRAMES = Counter("carecenter_device_frames", "Frames received from devices, by protocol and word", ["protocol", "word"])
CLOSED = Counter(
    "carecenter_device_connections_closed", "Device connections closed, by protocol and reason", ["protocol", "reason"]
)
SUSPECT = Counter(
    "carecenter_device_frames_suspect",
    "Frames read though something in them was off (a text watch's LEN), by device",
    ["protocol", "device", "reason"],
)
REFUSED = Counter(
    "carecenter_device_frames_refused",
    "Frames not read (a bad CRC, a packet shorter than its type), by device; the device sends them again",
    ["protocol", "device", "reason"],
)
TAKEOVERS = Counter(
    "carecenter_device_takeovers",
    "Connections that named a device connected from another address (held from commands until proven)",
    ["protocol"],
)
CONNECTED = Gauge("carecenter_device_connections", "Device connections open in this process", ["protocol"])
TURNED_AWAY = Counter(
    "carecenter_device_connections_turned_away",
    "New device connections closed at once: the process holds as many as it may (CARECENTER_DEVICE_MAX_CONNECTIONS)",
    ["protocol"],
)
UNKNOWN_REFUSED = Counter(
    "carecenter_device_unknown_refused",
    "Unknown ids turned away without being recorded (too many from one address)",
    ["protocol"],
)
UNKNOWN_PER_ADDRESS = 10  # unknown ids recorded per address …
UNKNOWN_WINDOW_SECONDS = 600.0  # … in this long; past that an address's attempts are only counted
MOST_WAITING = 64  # frames cut and not yet handled, over which a connection's reading pauses
HOUSEKEEPING_SECONDS = 1.0
WATCHDOG_SECONDS = 0.5
# Connections the kernel keeps waiting to be accepted (it caps this at net.core.somaxconn). asyncio's
# 100 drops the SYNs of a reconnect storm, and a watch whose SYN is dropped tries again after 1, 3,
# 7, 15, 31 s: after a gateway restart, half its watches were not back within a minute.
LISTEN_BACKLOG = 4096
# Descriptors a process keeps for everything but device connections: its database connections,
# logs, files. A process out of descriptors cannot reach its database, so it answers nobody.
RESERVED_DESCRIPTORS = 256


class _Capacity:
    """Device connections open in this process, over all its listeners, against the most it may hold."""

    def __init__(self) -> None:
        self._lock, self.open = threading.Lock(), 0

    def take(self, most: int) -> bool:
        with self._lock:
            if self.open >= most:
                return False
            self.open += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.open -= 1


CAPACITY = _Capacity()


def most_connections(settings: DeviceSettings) -> int:
    if settings.device_max_connections is not None:
        return settings.device_max_connections
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(1, soft - RESERVED_DESCRIPTORS)


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


class _Connection(asyncio.Protocol):
    """One device connection: the event loop hands it bytes, its framer cuts them into frames, and
    a task handles the waiting frames in order, only while there are some.

    A protocol object rather than a stream and a task per connection: a watch sends a frame a
    minute and is idle in between, and a city holds 100,000 of them (a gateway process held 7.7 KB
    a connection with streams, 3.4 KB with this). Frames cut before the connection closed, or before
    bytes that are not the protocol, are still handled: an SOS followed by a hang-up is stored.
    """

    __slots__ = (
        "address",
        "awaiting",
        "begun",
        "counted",
        "device_id",
        "ending",
        "finished",
        "host",
        "last_data",
        "listener",
        "opened",
        "profile",
        "serial",
        "session",
        "transport",
        "unproven",
        "unproven_since",
        "waiting",
        "worker",
        "writable",
    )

    def __init__(self, listener: "DeviceListener") -> None:
        self.listener = listener
        self.transport: asyncio.Transport | None = None
        self.address = self.host = "?"  # host:port, and the host alone: what tells a takeover from a reconnect
        self.session: ProtocolSession = listener.protocol.open()
        self.profile: Profile = listener.protocol.default_profile
        self.device_id: int | None = None
        self.serial: str | None = None
        self.awaiting: dict[str, int] = {}  # the key a command's answer carries -> command id
        self.opened = self.last_data = time.monotonic()  # when it opened, when bytes last arrived
        self.begun: float | None = None  # when the incomplete frame in the framer began
        self.unproven: str | None = None  # how it took over a live connection's id; until proven it gets no commands
        self.unproven_since: datetime | None = None
        self.waiting: list[Any] = []  # frames cut and not yet handled
        self.worker: asyncio.Task[None] | None = None  # handles `waiting`, while there is any
        self.ending: str | None = None  # why it ends once the waiting frames are handled
        self.finished = False
        self.writable: asyncio.Future[None] | None = None  # while the device does not read its answers
        self.counted = False  # holds a place in CAPACITY

    # -- what the event loop calls ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport, listener = cast(asyncio.Transport, transport), self.listener  # uvloop's does not subclass it
        if not CAPACITY.take(listener._most):  # the device tries again; elsewhere, where processes share the port
            TURNED_AWAY.labels(listener.protocol.name).inc()
            self.finished = True
            transport.close()
            return
        self.counted = True
        peer = transport.get_extra_info("peername")
        if peer:
            self.address, self.host = f"{peer[0]}:{peer[1]}", peer[0]
        CONNECTED.labels(listener.protocol.name).inc()
        listener._live.add(self)

    def data_received(self, data: bytes) -> None:
        if self.finished or self.ending is not None:
            return
        self.last_data = time.monotonic()
        framer = self.session.framer
        try:
            frames = framer.feed(data)
        except FrameError as exc:  # the frames cut before it are still handled, then the connection closes
            self.waiting.extend(exc.frames)
            if self.waiting:
                self._work()
            self._end(exc.reason)
            return
        self.begun = (self.begun or self.last_data) if framer.pending else None
        if frames:
            self.waiting.extend(frames)
            if len(self.waiting) >= MOST_WAITING:  # a device sending faster than its frames are handled
                self._pause_reading()
            self._work()

    def eof_received(self) -> bool:
        """The device sent all it will: its frames are still handled and answered, then it closes."""
        self._end("closed by the device")
        return True  # open for the answers until then

    def connection_lost(self, exc: Exception | None) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)  # the answer's write finds the connection closing
        if exc is None:
            self._end("closed by the device")  # unless it was ending already, for a reason of its own
        else:
            self._end(f"connection error ({exc.__class__.__name__})")

    def pause_writing(self) -> None:
        if self.writable is None or self.writable.done():
            self.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    # -- what the listener calls --------------------------------------------------------------------
    def is_closing(self) -> bool:
        return self.finished or self.transport is None or self.transport.is_closing()

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the device does not read what was written to it (its buffer over the limit)."""
        if self.writable is not None and not self.writable.done():
            await self.writable

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self, reason: str) -> None:
        """Closed at once, whatever waits to be written (a device that does not read keeps it open)."""
        if self.ending is None:
            self.ending = reason  # connection_lost records it
        if self.transport is not None:
            self.transport.abort()

    # -- inside ---------------------------------------------------------------------------------------
    def _pause_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing() and self.transport.is_reading():
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.transport is not None and not self.transport.is_reading():
            self.transport.resume_reading()

    def _work(self) -> None:
        if self.worker is None:
            self.worker = asyncio.ensure_future(self._handle_waiting())
            self.listener._tasks.add(self.worker)
            self.worker.add_done_callback(self.listener._tasks.discard)

    async def _handle_waiting(self) -> None:
        reason: str | None = None
        try:
            while self.waiting:
                frame = self.waiting.pop(0)
                await self.listener._handle(self, frame)
                if not self.waiting and self.ending is None and not self.is_closing():
                    self._resume_reading()
        except (FrameError, _Close) as exc:
            reason = exc.reason
        except (ConnectionError, OSError) as exc:
            reason = f"connection error ({exc.__class__.__name__})"
        except Exception:  # a defect: this one connection closes, the device connects again
            log.exception("%s %s: a frame could not be handled", self.listener.protocol.name, self.serial or "-")
            reason = "could not handle a frame"
        finally:
            self.worker = None
        if reason is not None:
            self.waiting.clear()
            self._finish(reason)
        elif self.ending is not None:
            self._finish(self.ending)

    def _end(self, reason: str) -> None:
        """No more bytes are read; it closes once the frames already cut are handled."""
        if self.ending is None:
            self.ending = reason
        self._pause_reading()
        if self.worker is None:
            self._finish(self.ending)

    def _finish(self, reason: str) -> None:
        if self.finished:
            return
        self.finished = True
        self.close()
        listener, name = self.listener, self.listener.protocol.name
        listener._live.discard(self)
        CONNECTED.labels(name).dec()
        CLOSED.labels(name, reason).inc()
        log.info("%s connection %s (%s) closed: %s", name, self.address, self.serial or "-", reason)
        listener._forget(self)
        if self.counted:
            self.counted = False
            CAPACITY.give_back()


Work = Callable[[Session], object]  # what runs in a transaction of its own (DeviceListener._db)


class _Identities:
    """New connections' device ids, looked up together: whatever waits while one query runs goes
    in the next (after a gateway restarts, its watches reconnect within seconds of each other)."""

    def __init__(self, db: Callable[[Work], Awaitable[object]], protocol: DeviceProtocol) -> None:
        self._db, self._protocol = db, protocol
        self._waiting: dict[str, list[asyncio.Future[connections.DeviceIdentity | None]]] = {}
        self._running: asyncio.Task[None] | None = None

    async def look_up(self, serial: str) -> connections.DeviceIdentity | None:
        future: asyncio.Future[connections.DeviceIdentity | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(serial, []).append(future)
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._look_up_waiting())
        return await future

    async def _look_up_waiting(self) -> None:
        while self._waiting:
            waiting, self._waiting = self._waiting, {}
            try:
                look_up = partial(connections.registered_devices, serials=list(waiting), protocol=self._protocol)
                found = await self._db(look_up)
            except Exception as exc:  # each connection fails as its own lookup would have
                for futures in waiting.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            assert isinstance(found, dict)
            for serial, futures in waiting.items():
                for future in futures:
                    if not future.done():
                        future.set_result(found.get(serial))


class DeviceListener:
    """`start()` listens on the protocol's port in a thread; `port` is the one bound (for port 0)."""

    def __init__(
        self,
        *,
        protocol: DeviceProtocolSpec,
        engine: sa.Engine,
        checkins: CheckinBatcher,
        settings: DeviceSettings,
        clock: Callable[[], datetime],
        media: MediaStore | None = None,
        unverified: Callable[[Session, int, datetime, str], object] | None = None,
        name: str = "gateway",
        live: Callable[[Session], set[str]] | None = None,
    ) -> None:
        self.protocol, self.engine, self.checkins, self.settings, self.clock = (
            protocol,
            engine,
            checkins,
            settings,
            clock,
        )
        self.media = media
        self.unverified = unverified  # says so on the alerts an unproven connection's readings raise
        # This process among several that hold device connections (`connected_via` on the device
        # rows), and how to find which of the others are alive (their heartbeats).
        self.name, self._find_live = name, live
        self._live_processes: set[str] = set()
        self._released = False  # what this process held before it started is recorded as gone
        self._identities = _Identities(self._db, protocol.device_protocol)
        self._most = most_connections(settings)
        self._started_at = clock()
        address = settings.listener_address(protocol.name)
        assert address is not None, f"no port set for the {protocol.name} listener"
        self.host, self.requested_port = address
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._connections: dict[int, _Connection] = {}  # by device: the connection commands go to
        self._unproven: dict[int, _Connection] = {}  # by device: one that took over a live connection's id
        self._notes: dict[int, connections.FrameNote] = {}
        self._connected: dict[int, tuple[datetime, str]] = {}  # when and from where: recorded with the next flush
        self._disconnected: set[int] = set()  # closed since: recorded with the next flush
        self._tasks: set[asyncio.Task[None]] = set()
        self._live: set[_Connection] = set()  # identified or not, for the watchdog
        self._unknown_by_host: dict[str, list[float]] = {}  # when each address last named unknown ids

    # -- running ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.protocol.name}-listener", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._failure is not None:
            raise RuntimeError(f"the {self.protocol.name} listener could not start: {self._failure}") from self._failure

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
            log.exception("the %s listener stopped", self.protocol.name)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:  # the database may be away: listen anyway (the housekeeping tries again)
            await self._release_earlier()
            await self._refresh_live()
        except sa.exc.SQLAlchemyError as exc:
            log.warning("%s listener: could not read or release earlier connections: %s", self.protocol.name, exc)
        server = await self._loop.create_server(
            lambda: _Connection(self),
            self.host,
            self.requested_port,
            reuse_port=self.settings.listeners_share_port or None,
            backlog=LISTEN_BACKLOG,
        )
        self.port = server.sockets[0].getsockname()[1]
        log.info("%s listener on %s:%s", self.protocol.name, self.host, self.port)
        self._ready.set()
        housekeeping = asyncio.create_task(self._housekeeping())
        watchdog = asyncio.create_task(self._watchdog())
        await self._stopping.wait()
        server.close()
        housekeeping.cancel()
        watchdog.cancel()
        await asyncio.gather(housekeeping, watchdog, return_exceptions=True)
        for connection in list(self._live):
            connection.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        # Every connection it had is gone, those whose task did not end in time too: recorded with
        # the last notes, in one statement (one by one, 20,000 would not fit in the wait).
        self._connected.clear()
        self._disconnected.update(self._connections)
        await self._flush_notes()

    async def _db(self, work: Work) -> object:
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
    def _forget(self, connection: _Connection) -> None:
        device_id = connection.device_id
        if device_id is not None and self._unproven.get(device_id) is connection:
            del self._unproven[device_id]
            return
        if device_id is None or self._connections.get(device_id) is not connection:
            return
        del self._connections[device_id]
        newcomer = self._unproven.pop(device_id, None)
        if newcomer is not None and not newcomer.is_closing():
            self._trust(device_id, newcomer, "the older connection went away")
            return
        self._connected.pop(device_id, None)  # connected and gone before the flush: only the leaving is news
        self._disconnected.add(device_id)  # with the next flush: a network outage drops thousands at once

    async def _handle(self, connection: _Connection, frame: Any) -> None:
        now = self.clock()
        serial = connection.session.identify(frame)
        if connection.device_id is None:
            if serial is None:
                raise _Close("no login")
            await self._identify(connection, serial, now)
        elif serial is not None and serial != connection.serial:
            raise _Close("a second device id on one connection")
        report = connection.session.interpret(frame, now, connection.profile)
        name, device = self.protocol.name, connection.serial or "-"
        if report.refused is not None:
            REFUSED.labels(name, device, report.refused).inc()
            log.warning("%s %s: frame not read (%s)", name, device, report.refused)
            return
        if report.suspect is not None:
            SUSPECT.labels(name, device, report.suspect).inc()
        FRAMES.labels(name, report.word if report.readings or report.answer or report.media else "other").inc()
        command_id = connection.awaiting.pop(report.replies_to, None) if report.replies_to else None
        if command_id is not None:
            text = report.reply_text or ""
            await self._db(lambda s: connections.record_answer(s, command_id=command_id, answer=text, now=now))
        if report.media is not None and not await self._keep_media(connection, report.media, now):
            return  # not kept: no answer, so the device sends it again
        if report.readings and not await self._ingest(connection, report.readings, now):
            return  # not committed: no answer, so the device sends it again
        if report.readings and connection.unproven is not None and self.unverified is not None:
            await self._say_unverified(connection, now)
        if not (report.readings or report.answer or report.media or command_id):
            log.debug("%s %s sent %s, which CareCenter does not use", name, device, report.word)
        assert connection.device_id is not None
        word = f"{report.word}: {', '.join(report.events)}" if report.events else report.word
        self._notes[connection.device_id] = connections.FrameNote(now, word, report.cells, report.network)
        if report.answer is not None:
            if connection.is_closing():  # replaced by the device's new connection meanwhile
                raise _Close("closed before the answer")
            connection.write(report.answer)
            await connection.drain()

    async def _identify(self, connection: _Connection, serial: str, now: datetime) -> None:
        address, protocol = connection.address, self.protocol.device_protocol
        identity = await self._identities.look_up(serial)
        if identity is None:
            if self._may_record_unknown(connection.host):
                await self._db(
                    lambda s: connections.note_unknown(s, serial=serial, protocol=protocol, address=address, now=now)
                )
            else:
                UNKNOWN_REFUSED.labels(self.protocol.name).inc()
            raise _Close("unknown device id")
        connection.device_id, connection.serial = identity.device_id, identity.serial
        connection.profile = identity.profile
        device_id = identity.device_id
        previous = self._connections.get(device_id)
        if previous is not None and previous.host != connection.host and not previous.is_closing():
            await self._taken_over(connection, previous.host, now)
            return
        elsewhere = identity.holder
        if (
            previous is None
            and elsewhere is not None
            and elsewhere.via != self.name
            and elsewhere.via in self._live_processes
            and elsewhere.host != connection.host
        ):  # connected from another address to another gateway process that is alive
            await self._taken_over(connection, f"{elsewhere.host} (through {elsewhere.via})", now)
            return
        if previous is not None:  # the device reconnected before its old connection timed out
            previous.close()
        self._connections[device_id] = connection
        self._connected[device_id] = (now, connection.host)  # its queued commands go out with the next housekeeping

    def _may_record_unknown(self, host: str) -> bool:
        """At most UNKNOWN_PER_ADDRESS unknown ids from one address in the window (a scan of the port
        must not fill the table, or the admins' list)."""
        now = time.monotonic()
        recent = [t for t in self._unknown_by_host.get(host, []) if now - t < UNKNOWN_WINDOW_SECONDS]
        if len(recent) >= UNKNOWN_PER_ADDRESS:
            self._unknown_by_host[host] = recent
            return False
        self._unknown_by_host[host] = [*recent, now]
        return True

    async def _taken_over(self, connection: _Connection, old: str, now: datetime) -> None:
        """Another address names a device that is connected. The protocol has no secret: this may be the
        device after a change of cell (its old socket still looks open) or someone who knows its id.
        It is accepted (an SOS is never dropped) but gets no commands until it proves itself: the
        older connection goes away, or a manager confirms it on the device's page."""
        assert connection.device_id is not None
        device_id, address = connection.device_id, connection.host
        connection.unproven, connection.unproven_since = f"{address} named it while it was connected from {old}", now
        stale = self._unproven.get(device_id)
        if stale is not None:
            stale.close()
        self._unproven[device_id] = connection
        TAKEOVERS.labels(self.protocol.name).inc()
        log.warning(
            "%s %s: a connection from %s while connected from %s", self.protocol.name, connection.serial, address, old
        )
        await self._write_devices(
            lambda s: connections.note_takeover(s, device_id=device_id, address=address, previous=old, now=now)
        )

    def _trust(self, device_id: int, connection: _Connection, why: str) -> None:
        """An unproven connection proved itself: it takes the commands from now on."""
        log.info(
            "%s %s: the connection from %s is trusted (%s)", self.protocol.name, connection.serial, connection.host, why
        )
        connection.unproven = connection.unproven_since = None
        self._connections[device_id] = connection
        self._connected[device_id] = (self.clock(), connection.host)

    async def _say_unverified(self, connection: _Connection, now: datetime) -> None:
        assert connection.device_id is not None and connection.unproven is not None and self.unverified is not None
        mark, device_id, detail = self.unverified, connection.device_id, connection.unproven
        try:
            await self._db(lambda s: mark(s, device_id, now, detail))
        except sa.exc.SQLAlchemyError as exc:  # the readings are stored and answered; only the note is missing
            log.warning(
                "%s %s: could not note the unverified source on its alerts: %s",
                self.protocol.name,
                connection.serial,
                exc,
            )

    async def _keep_media(self, connection: _Connection, media: Media, now: datetime) -> bool:
        """A voice message or photo into the media store and its row, committed before the answer."""
        assert connection.device_id is not None
        name = self.protocol.name
        if self.media is None:
            log.info("%s %s sent a %s; no media store here", name, connection.serial, media.kind)
            return True
        store, device_id = self.media, connection.device_id
        try:
            key = await asyncio.to_thread(store.put, media.data)
            await self._db(lambda s: connections.add_media(s, device_id=device_id, media=media, key=key, now=now))
        except Exception as exc:  # the store or the database is away: the device will send it again
            log.warning("%s %s: %s not kept (%s); no answer sent", name, connection.serial, media.kind, exc)
            return False
        return True

    async def _ingest(self, connection: _Connection, readings: list[dict[str, object]], now: datetime) -> bool:
        assert connection.device_id is not None
        try:
            answers = await self.checkins.store(raw=list(readings), now=now, device_id=connection.device_id)
        except NotAuthenticated:
            raise _Close("device revoked") from None
        except Exception as exc:  # the database is away: the device will send it again
            log.warning("readings of %s %s not stored (%s); no answer sent", self.protocol.name, connection.serial, exc)
            return False
        for item in answers:
            if item.result == CheckinResult.rejected:
                why = (self.protocol.name, connection.serial, item.event_id, item.reason)
                log.info("%s %s: reading %s rejected: %s", *why)
        return True

    async def _watchdog(self) -> None:
        """Close connections that went silent, whose frame never completed, or that never said which
        device they are.

        One sweep over the connections twice a second, rather than a timer per read: with 20,000
        watches connected, a timer (and a task) each is most of what the loop does per frame."""
        idle, frame = self.settings.watch_idle_seconds, self.settings.watch_frame_seconds
        identify = self.settings.watch_identify_seconds
        while True:
            await asyncio.sleep(WATCHDOG_SECONDS)
            now = time.monotonic()
            for connection in list(self._live):
                if connection.is_closing():
                    continue
                if connection.begun is not None and now - connection.begun > frame:
                    connection.abort("frame never completed")
                elif connection.begun is None and now - connection.last_data > idle:
                    connection.abort("idle")
                elif connection.device_id is None and now - connection.opened > identify:
                    connection.abort("did not identify itself")
            self._forget_old_unknown(now)

    def _forget_old_unknown(self, now: float) -> None:
        for host in [h for h, times in self._unknown_by_host.items() if now - times[-1] > UNKNOWN_WINDOW_SECONDS]:
            del self._unknown_by_host[host]

    # -- commands and bookkeeping -----------------------------------------------------------------
    async def _housekeeping(self) -> None:
        timeout = timedelta(seconds=self.settings.watch_command_timeout_seconds)
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            try:
                await self._release_earlier()
                await self._flush_notes()
                await self._refresh_live()
                await self._trust_confirmed()
                await self._send_commands()
                await self._db(lambda s: connections.time_out_commands(s, now=self.clock(), timeout=timeout))
            except sa.exc.SQLAlchemyError as exc:
                log.warning("%s listener bookkeeping failed (will retry): %s", self.protocol.name, exc)

    async def _flush_notes(self) -> None:
        """Connections opened and closed and last frames since the last flush, in one transaction
        (once a second). The closed first: a device that left and came back is connected."""
        notes, self._notes = self._notes, {}
        connected, self._connected = self._connected, {}
        gone, self._disconnected = self._disconnected, set()
        if notes or connected or gone:
            now = self.clock()

            def write(session: Session) -> None:
                if gone:
                    connections.note_disconnected(session, device_ids=gone, now=now, via=self.name)
                connections.note_connected(session, since=connected, via=self.name)
                connections.note_frames(session, notes)

            await self._write_devices(write)

    async def _release_earlier(self) -> None:
        """Once, before this process records connections: what it held before it stopped (or died) is gone."""
        if not self._released:
            started = self._started_at
            await self._write_devices(lambda s: connections.release_all(s, via=self.name, now=started))
            self._released = True

    async def _refresh_live(self) -> None:
        """Which other gateway processes are alive (a connection they hold can be taken over)."""
        if self._find_live is not None:
            find = self._find_live
            live = await self._db(find)
            assert isinstance(live, set)
            self._live_processes = live

    async def _trust_confirmed(self) -> None:
        """Unproven connections a manager confirmed since they took over: trusted, the older ones
        closed; and those whose older connection, held by another process, went away."""
        if not self._unproven:
            return
        waiting = dict(self._unproven)
        remote = [device_id for device_id in waiting if device_id not in self._connections]
        if remote:
            held = await self._db(lambda s: connections.holders(s, device_ids=remote))
            assert isinstance(held, dict)
            for device_id in remote:
                holder = held.get(device_id)
                if holder is None or holder.via == self.name or holder.via not in self._live_processes:
                    newcomer = waiting.pop(device_id)
                    del self._unproven[device_id]
                    self._trust(device_id, newcomer, "the older connection went away")
        if not waiting:
            return
        confirmed = await self._db(lambda s: connections.confirmations(s, device_ids=list(waiting)))
        assert isinstance(confirmed, dict)
        for device_id, at in confirmed.items():
            newcomer = waiting[device_id]
            if (
                newcomer.unproven_since is None
                or at < newcomer.unproven_since
                or self._unproven.get(device_id) is not newcomer
            ):
                continue
            del self._unproven[device_id]
            older = self._connections.get(device_id)
            self._trust(device_id, newcomer, "a manager confirmed it")
            if older is not None:
                older.close()

    async def _send_commands(self) -> None:
        """Queued commands for the connected devices (only the housekeeping sends: a command goes out once).

        A device that has just connected waits for the next round (a second at most) rather than
        costing a query of its own: after a restart, 20,000 devices connect within a minute."""
        connected = dict(self._connections)
        if not connected:
            return
        commands = await self._db(lambda s: connections.commands_to_send(s, device_ids=list(connected), via=self.name))
        assert isinstance(commands, list)
        now, sent = self.clock(), []  # the time-out counts from before the command went out
        for command in commands:
            connection = connected[command.device_id]
            data, key = connection.session.encode_command(command.content, command.id)
            connection.write(data)
            connection.awaiting[key] = command.id
            sent.append(command.id)
        if sent:
            await self._db(lambda s: connections.mark_sent(s, command_ids=sent, now=now))
