"""Who works near a resident in need: the alert tier asks, the visits tier answers.

Visits sit above alerts (a visit's vitals and concerns raise alerts), so the alert service cannot
import the visit query that knows who is checked in nearby. The visits tier registers its finder
at composition (`carecenter.wiring.wire`); until then nobody is found nearby, said in the log once,
and the alert goes on by its policy's steps.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NearbyWorker:
    staff_id: int
    distance_m: int
    visit_id: int
    at_visit: bool  # checked in there now; else about to start it


class NearestWorkerFinder(Protocol):
    def __call__(
        self, session: Session, *, center_id: int, home: tuple[float, float], now: datetime, within_m: int
    ) -> NearbyWorker | None: ...


_finder: list[NearestWorkerFinder] = []


def register_finder(finder: NearestWorkerFinder) -> None:
    _finder[:] = [finder]


def nearest_worker(
    session: Session, *, center_id: int, home: tuple[float, float], now: datetime, within_m: int
) -> NearbyWorker | None:
    if not _finder:
        log.error("no nearest-worker finder is registered: alerts page by their policy's steps only")
        return None
    return _finder[0](session, center_id=center_id, home=home, now=now, within_m=within_m)
