"""Devices' last sign of life, gathered from committed check-ins and written once a second.

Every stored reading says its device is alive (and how full its battery is). Writing that in
each check-in's own transaction cost an UPDATE of ~900 device rows per batch of 1,000 (a fifth
of the batch's time) and made every batch a writer of the device rows the watch listener
writes too. Instead the check-in writer gathers what committed transactions saw and writes the
newest per device for all of them together, once a second, in one statement. A device is marked
seen at most about a second late, and a crash loses at most that second of it, never a reading.
"""

import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

WRITE_EVERY = 1.0  # seconds


class Sighting(NamedTuple):
    """A device's newest reading in a transaction: when, its battery (None keeps the last known)
    and the gateway it came through (None keeps the last known)."""

    device_id: int
    at: datetime
    battery_pct: int | None
    gateway_id: int | None


class Sightings:
    """The newest sighting per device since the last write; safe to add to from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._newest: dict[int, Sighting] = {}
        self._since: float | None = None  # monotonic time of the oldest unwritten sighting

    def add(self, seen: Iterable[Sighting], *, roll_ups: bool = False) -> bool:
        """Keep each device's newest; True when these are the first since the last write. With
        `roll_ups` (the transaction left roll-ups to add to the hourly table: the same chore does
        it) a write is due even without a sighting."""
        with self._lock:
            first = self._since is None
            for sighting in seen:
                known = self._newest.get(sighting.device_id)
                if known is None or sighting.at >= known.at:
                    if sighting.gateway_id is None and known is not None:
                        sighting = sighting._replace(gateway_id=known.gateway_id)  # the last gateway known
                    self._newest[sighting.device_id] = sighting
            if first and (self._newest or roll_ups):
                self._since = time.monotonic()
                return True
            return False

    def due_in(self) -> float | None:
        """Seconds until the gathered sightings should be written; None when there are none."""
        with self._lock:
            return None if self._since is None else max(0.0, self._since + WRITE_EVERY - time.monotonic())

    def take(self) -> list[Sighting]:
        """What was gathered, in device id order (as every writer of many devices locks them), now
        no longer pending; the caller writes it, or adds it back if that failed."""
        with self._lock:
            newest, self._newest, self._since = self._newest, {}, None
        return sorted(newest.values())
