"""One scheduler at a time: on PostgreSQL the holder of an advisory lock leads.

The lock is held by one open connection; when the process dies, PostgreSQL drops the
connection and the lock with it, and a standby takes over at its next check.
"""

import contextlib
import logging

import sqlalchemy as sa

from carecenter.metrics import PROCESS, SCHEDULER_LEADER

log = logging.getLogger(__name__)
LOCK_KEY = 0x0CA2E_CE47E  # "carecenter" scheduler, an arbitrary bigint shared by all processes


class LeaderLock:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._connection: sa.Connection | None = None

    @property
    def needs_lock(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def is_leader(self) -> bool:
        return not self.needs_lock or self._connection is not None

    def check(self) -> bool:
        """Keep or try to take the lead; returns whether this process leads now."""
        leads = self._check()
        SCHEDULER_LEADER.labels(PROCESS).set(1 if leads else 0)
        return leads

    def _check(self) -> bool:
        if not self.needs_lock:
            return True
        if self._connection is not None:
            try:
                self._connection.execute(sa.text("SELECT 1"))
                return True
            except sa.exc.DBAPIError:
                log.warning("lost the scheduler lock's connection; standing by")
                self._drop()
        try:
            connection = self.engine.connect()
            taken = connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar()
            connection.commit()
        except sa.exc.DBAPIError:
            log.warning("database unreachable; cannot take the scheduler lock now")
            return False
        if taken:
            self._connection = connection
            log.info("this process now runs the scheduled jobs")
            return True
        connection.close()
        return False

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self._connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                self._connection.commit()
            self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self._connection.close()
            self._connection = None
