"""Running the alert rules over readings of residents the caller has locked.

What the rules need is loaded once for all the residents of a batch: the few resident columns
they read, their rule state and whether they have an active alert. A reading of a resident with
no active alert then costs no query at all unless it raises one; rule state is written once at
the end, only where it changed.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from carecenter.alerts import rules
from carecenter.alerts.models import ACTIVE_STATUSES, Alert, AlertKind, RuleState, Severity
from carecenter.alerts.service import (
    Opening,
    cancel_falls,
    clear_conditions,
    open_alerts,
    raise_alert,
    resident_facts,
)
from carecenter.centers.models import Center
from carecenter.db import PerDialect, among, among_parameter
from carecenter.messaging.outbound import AlertMessaging
from carecenter.residents.models import Resident
from carecenter.staff.models import Staff
from carecenter.thresholds import Thresholds, effective_thresholds

SEVERITY_ORDER = {severity: n for n, severity in enumerate(Severity)}


@dataclass(frozen=True)
class RuleSubject:
    """What the rules read of a resident."""

    id: int
    center_id: int
    consent_health_data: bool
    consent_location_data: bool
    facts: rules.ResidentFacts
    overrides: dict[str, Any] | None


SUBJECT_COLUMNS = [
    col(getattr(Resident, name))
    for name in (
        "id",
        "center_id",
        "consent_health_data",
        "consent_location_data",
        "living_situation",
        "wander_risk",
        "latitude",
        "longitude",
        "alert_thresholds",
        "watch_removed_alert",
    )
]


def subject_of(resident: Any) -> RuleSubject:
    """From a Resident, or a row of SUBJECT_COLUMNS."""
    return RuleSubject(
        id=resident.id,
        center_id=resident.center_id,
        consent_health_data=bool(resident.consent_health_data),
        consent_location_data=bool(resident.consent_location_data),
        facts=resident_facts(resident),
        overrides=resident.alert_thresholds,
    )


def lock_subjects(session: Session, resident_ids: Iterable[int]) -> dict[int, RuleSubject]:
    """Lock the residents, in id order, reading only what the rules need.

    Two transactions that lock the same residents in different orders would deadlock on
    PostgreSQL; one order for everyone makes the later one wait instead. There the lock reads
    each row's version (`xmin`, which every change of the row changes) and the rest only for
    rows the process has not read at that version (`_KNOWN`): a batch of 1,000 readings of
    residents that did not change builds no subject at all. The lock is `FOR NO KEY UPDATE`: it
    serializes the rules and any change of the resident, but not the foreign-key checks of
    readings stored for the same residents meanwhile.
    """
    ids = sorted(set(resident_ids))
    if not ids:
        return {}
    connection = session.connection()  # Core rows: the ORM's loading costs more than the query here
    if connection.dialect.name != "postgresql":
        locked = sa.select(*SUBJECT_COLUMNS).where(among(session, Resident.id, ids)).order_by(col(Resident.id))
        rows = connection.execute(locked.with_for_update(of=Resident)).all()
        return {row.id: subject_of(row) for row in rows}
    return _subjects_at_versions(session, connection.execute(_LOCK_WITH_VERSION(session), {"ids": ids}).all())


def remembered_subjects(session: Session, resident_ids: Iterable[int]) -> dict[int, RuleSubject]:
    """What this process last read of the residents, reading (without a lock) those it never
    read: possibly out of date, for a caller that compares it with what `lock_subjects` reads."""
    subjects: dict[int, RuleSubject] = {}
    unknown: list[int] = []
    for resident_id in sorted(set(resident_ids)):
        known = _KNOWN.get(resident_id)
        if known is None:
            unknown.append(resident_id)
        else:
            subjects[resident_id] = known[1]
    if unknown:
        rows = session.connection().execute(_WITH_VERSION(session), {"ids": unknown}).all()
        subjects.update(_subjects_at_versions(session, rows))
    return subjects


def _subjects_at_versions(session: Session, rows: Sequence[sa.Row[int, int]]) -> dict[int, RuleSubject]:
    """The subjects of (resident id, row version) rows: from `_KNOWN` where it holds that version."""
    versions: dict[int, int] = {resident_id: version for resident_id, version in rows}
    subjects: dict[int, RuleSubject] = {}
    stale: list[int] = []
    for resident_id, version in versions.items():
        known = _KNOWN.get(resident_id)
        if known is not None and known[0] == version:
            subjects[resident_id] = known[1]
        else:
            stale.append(resident_id)
    if stale:
        found = session.connection().execute(_SUBJECTS(session), {"ids": stale}).all()
        if len(_KNOWN) + len(found) > _KNOWN_AT_MOST:
            _KNOWN.clear()
        for row in found:
            subjects[row.id] = subject_of(row)
            _KNOWN[row.id] = (versions[row.id], subjects[row.id])
    return subjects


# PostgreSQL: the version of the row this transaction reads (every change of the row makes a new one).
_VERSION = sa.cast(sa.cast(sa.literal_column("resident.xmin"), sa.Text), sa.BigInteger)


def _with_version(dialect: str) -> sa.Select[*tuple[Any, ...]]:
    return (
        sa.select(col(Resident.id), _VERSION)
        .where(among_parameter(col(Resident.id), "ids", dialect))
        .order_by(col(Resident.id))
    )


_WITH_VERSION = PerDialect(_with_version)
_LOCK_WITH_VERSION = PerDialect(lambda dialect: _with_version(dialect).with_for_update(of=Resident, key_share=True))
_SUBJECTS: PerDialect[sa.Select[*tuple[Any, ...]]] = PerDialect(
    lambda dialect: sa.select(*SUBJECT_COLUMNS).where(among_parameter(col(Resident.id), "ids", dialect))
)
# The subjects this process read, with the row version they were read at; safe to share between
# threads (`lock_subjects` uses an entry only at the version it reads under the row's lock;
# `remembered_subjects` hands out entries as they are, for a caller that compares them with that).
_KNOWN: dict[int, tuple[int, RuleSubject]] = {}
_KNOWN_AT_MOST = 200_000  # residents: a district's many times over; past it the cache starts again


@dataclass(frozen=True)
class _StoredState:
    id: int
    breach: rules.Breach


@dataclass(frozen=True)
class _CenterRules:
    """What the rules read of a center (its ORM row is loaded only to raise an alert)."""

    thresholds: dict[str, Any] | None
    time_zone: str


_ACTIVE = (
    sa.exists()
    .where(col(Alert.resident_id) == col(Resident.id), col(Alert.status).in_(ACTIVE_STATUSES))
    .correlate(Resident)
)
# A row per resident and rule state (one with no state for a resident without any).
_STATES: sa.Select[*tuple[Any, ...]] = (
    sa.select(
        col(Resident.id).label("resident_id"),
        col(Resident.center_id).label("center_id"),
        sa.cast(col(Center.alert_thresholds), sa.Text).label("thresholds"),  # parsed once per center
        col(Center.time_zone).label("time_zone"),
        col(RuleState.id).label("state_id"),
        col(RuleState.rule).label("rule"),
        col(RuleState.breach_since).label("breach_since"),
        col(RuleState.breach_count).label("breach_count"),
        _ACTIVE.label("active"),
    )
    .select_from(Resident)
    .join(Center, col(Center.id) == col(Resident.center_id))
    .outerjoin(RuleState, col(RuleState.resident_id) == col(Resident.id))
)


_STATES_OF: PerDialect[sa.Select[*tuple[Any, ...]]] = PerDialect(
    lambda dialect: _STATES.where(among_parameter(col(Resident.id), "ids", dialect))
)


class Assessor:
    """Evaluates readings in order and acts on them: raise, fold, clear, cancel, remember."""

    def __init__(
        self,
        session: Session,
        messaging: AlertMessaging,
        subjects: Iterable[RuleSubject],
        now: datetime,
        *,
        pressed: Iterable[int] = (),
    ) -> None:
        """`pressed`: residents whose readings here are an SOS or a fall, for whom alerts will open:
        their rows are read together with the first one's (a burst of SOS is one query, not one each)."""
        self.session, self.messaging, self.now = session, messaging, now
        self._pressed = set(pressed)
        # Rows read for the alerts, held for this group: the session holds rows weakly, and its
        # `get` reads again a row nobody holds (a statement per alert).
        self._held: list[object] = []
        subjects = list(subjects)
        ids = sorted({s.id for s in subjects})
        self._stored: dict[tuple[int, str], _StoredState] = {}
        self._states: dict[int, dict[str, rules.Breach]] = {rid: {} for rid in ids}
        self._thresholds: dict[tuple[int, int | None], Thresholds] = {}  # by (center, resident with overrides)
        self._with_active: set[int] = set()
        # New alerts wait here to open together at the end (`_open_waiting`): a burst of SOS is
        # then one INSERT of alerts and one of messages, not one each.
        self._waiting: list[Opening] = []
        self._waiting_for: set[int] = set()
        self._centers: dict[int, _CenterRules] = {}
        if not ids:
            return
        # Each resident's rule state, whether they have an active alert and what the rules read of
        # their center, in one query (Core rows). Alerts open only under the resident's lock, which
        # the caller holds: the set of residents with one cannot grow behind our back (it can only
        # shrink, which is harmless here). Through the session: it flushes first, as the ORM's reads.
        for row in session.execute(_STATES_OF(session), {"ids": ids}):
            if row.center_id not in self._centers:
                thresholds = json.loads(row.thresholds) if row.thresholds is not None else None
                self._centers[row.center_id] = _CenterRules(thresholds, row.time_zone)
            if row.active:
                self._with_active.add(row.resident_id)
            if row.state_id is not None:
                breach = rules.Breach(row.breach_since, row.breach_count)
                self._stored[(row.resident_id, row.rule)] = _StoredState(row.state_id, breach)
                self._states[row.resident_id][row.rule] = breach

    def assess(self, subject: RuleSubject, facts: rules.ReadingFacts, *, device_id: int | None) -> Alert | None:
        """One reading's consequences; returns the alert it raised or joined (a new one has its id
        once `finish` has run)."""
        if subject.id in self._waiting_for:  # this reading may fold into, clear or cancel it: open it first
            self._open_waiting()
        center = self._centers[subject.center_id]
        states = self._states.setdefault(subject.id, {})
        # Most residents follow their center: one validation per center, not one per resident.
        whose = (subject.center_id, subject.id if subject.overrides else None)
        thresholds = self._thresholds.get(whose)
        if thresholds is None:
            thresholds = effective_thresholds(center.thresholds, subject.overrides)
            self._thresholds[whose] = thresholds
        local = facts.recorded_at.astimezone(ZoneInfo(center.time_zone)) if thresholds.rule_windows else None
        evaluation = rules.evaluate(facts, thresholds, subject.facts, states, local=local, received_at=self.now)
        states.update(evaluation.states)
        if subject.id in self._with_active:
            if AlertKind.fall in evaluation.cancels:
                cancel_falls(self.session, resident_id=subject.id, now=self.now)
            clear_conditions(self.session, resident_id=subject.id, kinds=evaluation.clears, now=self.now)
        raised = None
        for draft in sorted(evaluation.drafts, key=lambda d: SEVERITY_ORDER[d.severity]):
            if subject.id in self._pressed:  # once, for all of them
                residents = self.session.exec(select(Resident).where(among(self.session, Resident.id, self._pressed)))
                self._held += residents.all()
                self._pressed.clear()
                # Their care workers, whom an emergency's first step pages (`resolve_groups` gets
                # them by id from the session).
                workers = {r.primary_worker_id for r in self._held if isinstance(r, Resident) and r.primary_worker_id}
                if workers:
                    self._held += self.session.exec(select(Staff).where(among(self.session, Staff.id, workers))).all()
            resident = self.session.get(Resident, subject.id)  # locked by the caller
            center_row = self.session.get(Center, subject.center_id)
            self._held.append(center_row)
            assert resident is not None and center_row is not None
            if subject.id in self._with_active:
                alert = raise_alert(
                    self.session,
                    self.messaging,
                    resident=resident,
                    center=center_row,
                    draft=draft,
                    now=self.now,
                    device_id=device_id,
                    reading=facts.as_record(),
                )
            else:  # none active, and the resident is locked: a new one, opened with the others at the end
                opening = Opening(resident, center_row, draft, self.now, device_id=device_id, reading=facts.as_record())
                self._waiting.append(opening)
                self._waiting_for.add(subject.id)
                alert = opening.alert
            self._with_active.add(subject.id)
            raised = raised or alert
        return raised

    def finish(self) -> None:
        """Open the new alerts, and write the rule state that changed (a rule with no memory needs no row)."""
        self._open_waiting()
        new: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for resident_id, states in self._states.items():
            for rule, breach in states.items():
                stored = self._stored.get((resident_id, rule))
                if stored is None:
                    if breach is not rules.NO_BREACH and breach != rules.NO_BREACH:
                        new.append({"resident_id": resident_id, "rule": rule, **self._state_values(breach)})
                elif stored.breach is not breach and stored.breach != breach:
                    changed.append({"id": stored.id, **self._state_values(breach)})
        if new:
            self.session.execute(sa.insert(RuleState), new)
        if changed:
            self.session.execute(sa.update(RuleState), changed)  # by primary key, one statement

    def _state_values(self, breach: rules.Breach) -> dict[str, Any]:
        return {"breach_since": breach.since, "breach_count": breach.count, "updated_at": self.now}

    def _open_waiting(self) -> None:
        open_alerts(self.session, self.messaging, self._waiting, now=self.now)
        self._waiting, self._waiting_for = [], set()
