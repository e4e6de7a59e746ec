"""Single check-ins from many devices, stored together: one transaction, one commit, many answers.

Thousands of wearables each posting one reading would otherwise cost a transaction and a
commit (an fsync) apiece. Requests hand their reading to one writer thread and wait; the writer
takes whatever has queued up while the previous transaction ran, stores and assesses it all
with the same set-wise `ingest` the batch endpoint uses, commits, and only then answers each
request. So a 2xx still means "committed", an idle system answers at once, and a busy one
commits more per fsync instead of queueing. (A watch's frame, which no client is waiting on
to send its next, waits a few milliseconds for company: see `_one_turn`.) If the shared
transaction fails, every request in it is retried alone, so one bad reading cannot fail its
neighbours; a transaction the database chose to abort (a deadlock, a serialization failure) is
tried again as it was.

The writer also runs chores between groups (`run_between`): the watch listener's bookkeeping
writes the same device rows as the check-ins (last frame, last sign of life), and two writers
of the same rows in one process could deadlock each other where one writer cannot. For the same
reason it is the one that writes the devices' last sign of life, gathered from every committed
check-in of the process (its own groups, the batch endpoint's) once a second (see `sightings`),
and adds their pending roll-ups to the hourly table then (see `bulk`).
"""

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import msgspec
import sqlalchemy as sa
from sqlmodel import Session

from carecenter.devices.service import UNKNOWN_DEVICE_KEY
from carecenter.errors import NotAuthenticated
from carecenter.ingest import bulk
from carecenter.ingest.fast import ItemAnswer
from carecenter.ingest.service import URGENT_KINDS, count_committed, ingest
from carecenter.ingest.sightings import Sighting, Sightings
from carecenter.ingest.targets import Target, targets_by_id, targets_by_key
from carecenter.messaging.outbound import AlertMessaging
from carecommon.threads import name_os_thread

log = logging.getLogger(__name__)

# Opening an alert and paging its first step costs ~25 ms; a group holds at most this many, so
# that the first SOS of a burst is not kept waiting for the commit of a hundred others.
MAX_URGENT = 16
# PostgreSQL aborts one of two transactions that wait on each other (or, in SERIALIZABLE, one
# that read what another changed); running it again is the documented remedy.
RETRY_SQLSTATES = ("40P01", "40001")
RETRIES = 3

T = TypeVar("T")


@dataclass
class _Pending:
    """Readings of one poster: known by its key (HTTP, MQTT) or already identified (a watch's id)."""

    key: str | None
    device_id: int | None
    raws: list[Any]
    now: datetime
    # A thread's caller waits on a concurrent future; an event loop's on its own loop's future,
    # settled in that loop (see `_Settlements`).
    answer: "Future[list[ItemAnswer]] | asyncio.Future[list[ItemAnswer]]" = field(default_factory=Future)
    settled: bool = False  # answered or failed: the first outcome stands


class _Settlements:
    """Outcomes for callers in event loops, handed over once per group and loop.

    A concurrent future wrapped for a loop wakes that loop once per future (a write to its
    self-pipe each, in the writer thread); a group of 300 watch frames is one wake-up here."""

    def __init__(self) -> None:
        self._by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}

    def add(self, pending: _Pending, result: Any, exc: BaseException | None) -> None:
        if pending.settled:
            return
        pending.settled = True
        if isinstance(pending.answer, asyncio.Future):
            self._by_loop.setdefault(pending.answer.get_loop(), []).append((pending.answer, result, exc))
        else:
            _resolve(pending.answer, result, exc)

    def hand_over(self) -> None:
        by_loop, self._by_loop = self._by_loop, {}
        for loop, outcomes in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, outcomes)
            except RuntimeError:  # that loop has closed: nobody is waiting any more
                log.debug("an event loop closed before its check-ins were answered")


def _resolve(future: "Future[Any]", result: Any, exc: BaseException | None) -> None:
    """Answer a caller in a thread; one that gave up (cancelled its future) is skipped, never an
    error in the writer thread."""
    if future.cancelled():
        return
    try:
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass  # answered already


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for waiter, result, exc in outcomes:
        if waiter.done():  # the caller gave up (its connection closed)
            continue
        if exc is not None:
            waiter.set_exception(exc)
        else:
            waiter.set_result(result)


@dataclass
class _Chore:
    """Work for the writer thread between groups, in a transaction of its own."""

    work: Callable[[Session], Any]
    done: Future[Any] = field(default_factory=Future)


class _Wake:
    """A nudge for a waiting writer: sightings are waiting, look at the clock."""


_WAKE = _Wake()


class CheckinBatcher:
    """One writer thread for single check-ins; `submit` returns once the reading is committed."""

    def __init__(
        self,
        engine: sa.Engine,
        messaging: AlertMessaging,
        *,
        max_items: int = 500,
        give_way: Callable[[], None] | None = None,
        gather_seconds: float = 0,
    ) -> None:
        """`give_way` runs before each transaction: on SQLite, the dispatcher's `turns.give_way`.
        `gather_seconds`: how long a group that began with a listener's frame waits for more (see
        `_one_turn`)."""
        self.engine, self.messaging, self.max_items, self.give_way = engine, messaging, max_items, give_way
        self.gather_seconds = gather_seconds
        self._queue: queue.SimpleQueue[_Pending | _Chore | _Wake | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._settlements = _Settlements()  # used by the writer thread only
        self._sightings = Sightings()

    async def submit(self, key: str, raw: dict[str, Any], now: datetime) -> ItemAnswer:
        answers = await self.store(raw=[raw], now=now, key=key)
        return answers[0]

    async def store(
        self, *, raw: list[Any], now: datetime, key: str | None = None, device_id: int | None = None
    ) -> list[ItemAnswer]:
        """`enqueue` for a caller in an event loop: returns (in this loop) after the commit."""
        answer: asyncio.Future[list[ItemAnswer]] = asyncio.get_running_loop().create_future()
        self._ensure_running()
        self._queue.put(_Pending(key, device_id, raw, now, answer))
        return await answer

    def enqueue(
        self, *, raw: list[Any], now: datetime, key: str | None = None, device_id: int | None = None
    ) -> "Future[list[ItemAnswer]]":
        """Queue readings of the device with this key (or this id); the future resolves after the commit.

        The answer is one per reading, in order; a key that is unknown or revoked fails it with
        NotAuthenticated, a device that is gone or revoked with NotAuthenticated too.
        """
        answer: Future[list[ItemAnswer]] = Future()
        self._ensure_running()
        self._queue.put(_Pending(key, device_id, raw, now, answer))
        return answer

    def run_between(self, work: Callable[[Session], T]) -> "Future[T]":
        """Run `work(session)` in the writer thread, committed; the future holds its result."""
        chore = _Chore(work)
        self._ensure_running()
        self._queue.put(chore)
        return chore.done

    def note_seen(self, seen: list[Sighting], *, roll_ups: bool) -> None:
        """Devices seen in a committed transaction (and whether it left roll-ups to add to the
        hourly table): written with the others within about a second."""
        if self._sightings.add(seen, roll_ups=roll_ups):
            self._ensure_running()
            self._queue.put(_WAKE)  # the writer may be waiting with no deadline

    def write_sightings(self) -> "Future[None]":
        """Write the sightings gathered so far now (for a caller that must see them, a test)."""
        return self.run_between(self._write_sightings)

    def _ensure_running(self) -> None:
        with self._lock:  # started on first use: works with or without the app's lifespan
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="checkin-batcher", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(10)

    def _run(self) -> None:
        """The writer: nothing but a stop meant for it ends it. An error in one group is that
        group's answer (and the log's), never the end of the thread: a writer that died would
        leave every later reading, an SOS among them, waiting for ever."""
        name_os_thread()
        while True:
            try:
                first = self._queue.get(timeout=self._sightings.due_in())
            except queue.Empty:
                first = _WAKE
            if first is None:
                with self._lock:
                    if self._thread is threading.current_thread():
                        continue  # a stop meant for an earlier writer, left in the queue
                self._write_sightings_now()
                return
            try:
                if not isinstance(first, _Wake):
                    self._one_turn(first)
                if self._sightings.due_in() == 0:
                    self._write_sightings_now()
            except Exception:
                log.exception("the check-in writer failed a turn; it goes on with the next")

    def _write_sightings_now(self) -> None:
        self._do(_Chore(self._write_sightings))

    def _write_sightings(self, session: Session) -> None:
        seen = self._sightings.take()
        try:
            bulk.touch_devices(session, seen)
            if session.get_bind().dialect.name == "postgresql":
                bulk.fold_pending(session.connection())  # the roll-ups of the same check-ins
            session.commit()  # here, so that a commit that fails puts them back too
        except Exception as exc:
            self._sightings.add(seen, roll_ups=True)  # written with the next ones
            log.warning("the devices' last sign of life was not written (%s); trying again in a second", exc)
            raise

    def _one_turn(self, first: "_Pending | _Chore") -> None:
        if isinstance(first, _Chore):
            self._do(first)
            return
        batch, urgent, size, chores = [first], _is_urgent(first), len(first.raws), []
        # A watch's frame waits a little for others (`gather_seconds`), unless one is urgent: most
        # of a group's cost is the same for 1 reading as for 10, and at a few hundred frames a
        # second the groups would otherwise hold one or two. An HTTP client may be waiting to
        # send its next reading until this one is answered: its groups do not wait.
        gather_until = time.monotonic() + self.gather_seconds if first.device_id is not None else 0.0
        while size < self.max_items and urgent < MAX_URGENT:
            wait = gather_until - time.monotonic() if not urgent else 0.0
            try:
                pending = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if pending is None:
                self._queue.put(None)  # stop after this batch
                break
            if isinstance(pending, _Wake):
                continue
            if isinstance(pending, _Chore):
                chores.append(pending)  # after this group: readings first
                continue
            batch.append(pending)
            urgent += _is_urgent(pending)
            size += len(pending.raws)
        try:
            self._store(batch)
        except Exception as exc:  # whatever it was, every caller of the group hears of it
            for pending in batch:
                self._settlements.add(pending, None, exc)
            raise
        finally:
            self._settlements.hand_over()
            for chore in chores:
                self._do(chore)

    def _do(self, chore: _Chore) -> None:
        try:
            result = _retrying(lambda: self._in_transaction(chore.work))
        except Exception as exc:
            _resolve(chore.done, None, exc)
        else:
            _resolve(chore.done, result, None)

    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        if self.give_way is not None:  # a chore is a write too: a waiting dispatcher goes first
            self.give_way()
        with Session(self.engine) as session:
            result = work(session)
            session.commit()
            return result

    def _store(self, batch: list[_Pending]) -> None:
        try:
            _retrying(lambda: self._commit(batch))
        except Exception as exc:
            if len(batch) == 1 or isinstance(exc, sa.exc.OperationalError):
                # The database is away: nothing was stored, every request hears so (503).
                for pending in batch:
                    self._settlements.add(pending, None, exc)
                return
            log.warning(
                "a shared check-in transaction failed (%s); storing its %d readings one by one", exc, len(batch)
            )
            for pending in batch:
                self._store([pending])

    def _commit(self, batch: list[_Pending]) -> None:
        if self.give_way is not None:
            self.give_way()
        with Session(self.engine, expire_on_commit=False) as session:
            by_key = targets_by_key(session, {p.key for p in batch if p.key is not None})
            by_id = targets_by_id(session, {p.device_id for p in batch if p.device_id is not None})
            posts: list[tuple[Target, Any]] = []
            waiting: list[_Pending] = []
            for pending in batch:
                target = by_key.get(pending.key) if pending.key is not None else by_id.get(pending.device_id or -1)
                if target is None:
                    self._settlements.add(pending, None, NotAuthenticated(UNKNOWN_DEVICE_KEY))
                    continue
                posts.extend((target, raw) for raw in pending.raws)
                waiting.append(pending)
            if not posts:
                return
            now = max(p.now for p in waiting)
            ingested = ingest(session=session, messaging=self.messaging, posts=posts, now=now)
            session.commit()
        answers = ingested.answers
        count_committed(answers)
        self._sightings.add(ingested.seen, roll_ups=ingested.stored)
        start = 0
        for pending in waiting:
            mine = answers[start : start + len(pending.raws)]
            start += len(pending.raws)
            self._settlements.add(pending, [msgspec.structs.replace(a, index=n) for n, a in enumerate(mine)], None)


def _retrying(attempt: Callable[[], T]) -> T:
    """`attempt()`, again while the database aborts it for a conflict (each try rolled back whole)."""
    for tries in range(1, RETRIES + 1):
        try:
            return attempt()
        except sa.exc.DBAPIError as exc:
            if tries == RETRIES or getattr(exc.orig, "sqlstate", None) not in RETRY_SQLSTATES:
                raise
            log.info("the database aborted a check-in transaction for a conflict (%s); trying again", exc.orig)
    raise AssertionError("unreachable")


def _is_urgent(pending: _Pending) -> int:
    return sum(1 for raw in pending.raws if isinstance(raw, dict) and raw.get("kind") in URGENT_KINDS)
