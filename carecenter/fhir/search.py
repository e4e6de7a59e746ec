"""Reading and searching the platform API's resources: the search parameters (R4's names), the
centers and consents a client's reads are limited to, paged `searchset` bundles, and the audit
trail of whose records went out.

A client reads only its centers' records, and of residents only those who consented to their
health data being used (`consent_health_data`); staff are read as practitioners of those centers.
A record outside that is "not found", as for a person. Pages follow the `next` link, which carries
the last id served (`_after`): a record written meanwhile is neither skipped nor served twice.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from carecenter.alerts.models import Alert, AlertKind
from carecenter.assessments.definition import definitions
from carecenter.assessments.models import Assessment
from carecenter.audit.service import record_event
from carecenter.auth.clients import Reader
from carecenter.catalogue.models import ServiceOffering
from carecenter.catalogue.service import catalogue
from carecenter.errors import DomainError, NotFound
from carecenter.fhir import codes, resources
from carecenter.fhir.resources import Json, Site
from carecenter.readings.models import Reading
from carecenter.residents.models import FamilyContact, Resident
from carecenter.staff.models import Staff
from carecenter.visits.models import CarePlan, Visit

DEFAULT_COUNT = 20
MAX_COUNT = 100
# Asked for by clients and harmless to ignore: the format (JSON is all we write), pretty printing.
IGNORED = frozenset({"_format", "_pretty"})
DATE_VALUE = re.compile(
    r"^(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2})"
    r"(T(?P<clock>\d{2}:\d{2}(:\d{2}(\.\d+)?)?)(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


PARAM_TYPES = {
    "patient": "reference",
    "subject": "reference",
    "questionnaire": "reference",
    "date": "date",
    "authored": "date",
    "code": "token",
    "category": "token",
    "url": "uri",
}


class BadSearch(DomainError):
    """A parameter we do not know or a value we cannot read: 400 with an OperationOutcome."""

    status_code = 400


@dataclass(frozen=True)
class Query:
    """One request's search, read from its parameters."""

    patient: int | None = None
    ids: tuple[str, ...] = ()
    dates: tuple[tuple[str, datetime, datetime], ...] = ()  # (prefix, start, end) of each date value
    updated: tuple[tuple[str, datetime, datetime], ...] = ()
    codes: tuple[str, ...] = ()
    count: int = DEFAULT_COUNT
    after: str | None = None
    used: dict[str, list[str]] = field(default_factory=dict)  # for the self and next links


@dataclass(frozen=True)
class Kind:
    """A resource type the API serves: its search parameters and how to read its records."""

    name: str
    params: frozenset[str]  # besides _id, _lastUpdated, _count, _after
    date_param: str | None = None
    patient_params: frozenset[str] = frozenset({"patient"})


KINDS = {
    kind.name: kind
    for kind in (
        Kind("Patient", frozenset(), patient_params=frozenset()),
        Kind("RelatedPerson", frozenset({"patient"})),
        Kind("Practitioner", frozenset(), patient_params=frozenset()),
        Kind("CarePlan", frozenset({"patient", "subject", "date"}), "date", frozenset({"patient", "subject"})),
        Kind("Encounter", frozenset({"patient", "subject", "date"}), "date", frozenset({"patient", "subject"})),
        Kind(
            "Observation",
            frozenset({"patient", "subject", "date", "code", "category"}),
            "date",
            frozenset({"patient", "subject"}),
        ),
        Kind("AdverseEvent", frozenset({"subject", "patient", "date"}), "date", frozenset({"patient", "subject"})),
        Kind(
            "QuestionnaireResponse",
            frozenset({"patient", "subject", "authored", "questionnaire"}),
            "authored",
            frozenset({"patient", "subject"}),
        ),
        Kind("Questionnaire", frozenset({"url"}), patient_params=frozenset()),
    )
}


def kind_of(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise NotFound("This server does not serve {what} (it serves {known}).", what=name, known=", ".join(KINDS))
    return kind


def _date_range(value: str, zone: ZoneInfo, name: str) -> tuple[str, datetime, datetime]:
    """A date search value as (prefix, start, end): the instant range it names (a day without a zone
    is the center's local day)."""
    found = DATE_VALUE.match(value)
    if found is None:
        raise BadSearch(
            "{name}: {value} is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)", name=name, value=value
        )
    prefix = found["prefix"] or "eq"
    if prefix not in ("eq", "gt", "lt", "ge", "le"):
        raise BadSearch(
            "{name}: the prefix {prefix} is not supported (eq, gt, lt, ge, le are)", name=name, prefix=prefix
        )
    try:
        year, month, day = int(found["year"]), int(found["month"] or 1), int(found["day"] or 1)
        if found["clock"]:
            clock = time.fromisoformat(found["clock"])
            tz = (
                zone
                if found["zone"] is None
                else datetime.fromisoformat(f"2000-01-01T00:00{found['zone']}".replace("Z", "+00:00")).tzinfo
            )
            start = datetime.combine(date(year, month, day), clock, tzinfo=tz)
            end = start + timedelta(seconds=1)
        else:
            start = datetime.combine(date(year, month, day), time(), tzinfo=zone)
            if found["day"]:
                end = start + timedelta(days=1)
            elif found["month"]:
                end = start.replace(year=year + month // 12, month=month % 12 + 1)
            else:
                end = start.replace(year=year + 1)
    except ValueError as error:
        raise BadSearch(
            "{name}: {value} is not a real date ({error})", name=name, value=value, error=str(error)
        ) from None
    return prefix, start, end


def _whole(value: str, name: str) -> int:
    if not value.isdigit() or len(value) > 12:
        raise BadSearch("{name}: {value} is not an id this server gives out", name=name, value=value)
    return int(value)


def parse(kind: Kind, params: Sequence[tuple[str, str]], zone: ZoneInfo) -> Query:
    """The search a request's parameters ask for; BadSearch for one this server cannot answer
    exactly (an ignored filter would hand out more than was asked for)."""
    allowed = kind.params | {"_id", "_lastUpdated", "_count", "_after"}
    used: dict[str, list[str]] = {}
    patient: int | None = None
    ids: list[str] = []
    dates: list[tuple[str, datetime, datetime]] = []
    updated: list[tuple[str, datetime, datetime]] = []
    loinc: list[str] = []
    count, after = DEFAULT_COUNT, None
    for name, value in params:
        if name in IGNORED:
            continue
        if name not in allowed:
            raise BadSearch(
                "{type} has no search parameter {name} here (it has {known})",
                type=kind.name,
                name=name,
                known=", ".join(sorted(allowed)),
            )
        if name != "_after":
            used.setdefault(name, []).append(value)
        if name in kind.patient_params:
            patient = _whole(value.removeprefix("Patient/"), name)
        elif name == "_id":
            ids.extend(part for part in value.split(",") if part)
        elif name == kind.date_param:
            dates.append(_date_range(value, zone, name))
        elif name == "_lastUpdated":
            updated.append(_date_range(value, zone, name))
        elif name == "code":
            loinc.extend(part.removeprefix(codes.LOINC + "|") for part in value.split(","))
        elif name == "category":
            if value.removeprefix(codes.OBSERVATION_CATEGORY + "|") not in {v.category for v in codes.VITALS.values()}:
                raise BadSearch("category: {value} is not one this server gives", value=value)
            loinc.extend(v.code for v in codes.VITALS.values() if v.category == value.split("|")[-1])
        elif name == "questionnaire" or name == "url":
            ids.append(value.split("|")[0].rstrip("/").rsplit("/", 1)[-1])
        elif name == "_count":
            if not value.isdigit() or not 1 <= int(value) <= MAX_COUNT:
                raise BadSearch("_count: a whole number from 1 to {most}", most=MAX_COUNT)
            count = int(value)
        elif name == "_after":
            after = value
    return Query(patient, tuple(ids), tuple(dates), tuple(updated), tuple(loinc), count, after, used)


def _date_clause(column: Any, ranges: Iterable[tuple[str, datetime, datetime]]) -> list[Any]:
    clauses = []
    for prefix, start, end in ranges:
        if prefix == "eq":
            clauses += [column >= start, column < end]
        elif prefix == "ge":
            clauses.append(column >= start)
        elif prefix == "gt":
            clauses.append(column >= end)
        elif prefix == "le":
            clauses.append(column < end)
        else:  # lt
            clauses.append(column < start)
    return clauses


@dataclass
class Served:
    """One page: the resources, whose records they were (for the audit trail), and where the next
    page starts (None: this was the last)."""

    resources: list[Json]
    residents: dict[int, int] = field(default_factory=dict)  # resident id -> center id
    staff: dict[int, int] = field(default_factory=dict)  # staff id -> center id
    after: str | None = None


def _consented(reader: Reader) -> list[Any]:
    return [col(Resident.center_id).in_(sorted(reader.center_ids)), Resident.consent_health_data == True]  # noqa: E712


def _int_ids(ids: Sequence[str], name: str = "_id") -> list[int]:
    return [_whole(value, name) for value in ids]


def _by_id(stmt: Any, model: Any, query: Query) -> Any:
    """The ids asked for, `_lastUpdated`, and the page after `_after`, in id order (one more row
    than the page: whether a next page follows)."""
    if query.ids:
        stmt = stmt.where(col(model.id).in_(_int_ids(query.ids)))
    if query.after is not None:
        stmt = stmt.where(col(model.id) > _whole(query.after, "_after"))
    if query.updated:
        stmt = stmt.where(*_date_clause(model.updated_at, query.updated))
    return stmt.order_by(col(model.id)).limit(query.count + 1)


def _page(rows: Sequence[Any], query: Query, key: Callable[[Any], str]) -> tuple[Sequence[Any], str | None]:
    if len(rows) > query.count:
        rows = rows[: query.count]
        return rows, key(rows[-1])
    return rows, None


class Searcher:
    """Runs a query of one kind for one client."""

    def __init__(self, session: Session, reader: Reader, site: Site, zone: ZoneInfo, today: date) -> None:
        self.session, self.reader, self.site, self.zone, self.today = session, reader, site, zone, today
        self._catalogues: dict[int, dict[str, ServiceOffering]] = {}

    def services(self, center_id: int) -> dict[str, ServiceOffering]:
        if center_id not in self._catalogues:
            self._catalogues[center_id] = catalogue(self.session, center_id)
        return self._catalogues[center_id]

    def run(self, kind: Kind, query: Query) -> Served:
        method: Callable[[Query], Served] = getattr(self, "_" + kind.name.lower())
        return method(query)

    def _resident_scoped(self, model: Any, query: Query, date_column: Any = None) -> Any:
        """Records of a kind with their resident, of the client's centers and consenting residents."""
        stmt = (
            select(model, Resident)
            .join(Resident, col(Resident.id) == model.resident_id)
            .where(*_consented(self.reader))
        )
        if hasattr(model, "center_id"):
            stmt = stmt.where(col(model.center_id).in_(sorted(self.reader.center_ids)))
        if query.patient is not None:
            stmt = stmt.where(col(Resident.id) == query.patient)
        if date_column is not None:
            stmt = stmt.where(*_date_clause(date_column, query.dates))
        return _by_id(stmt, model, query)

    def _of_residents(self, stmt: Any, query: Query, build: Callable[[Any, Resident], Json]) -> Served:
        """A page of (record, resident) rows as resources, with whose records they are."""
        rows, after = _page(self.session.exec(stmt).all(), query, lambda pair: str(pair[0].id))
        served = Served([build(record, resident) for record, resident in rows], after=after)
        served.residents = {resident.id: resident.center_id for _, resident in rows}
        return served

    def _patient(self, query: Query) -> Served:
        stmt = _by_id(select(Resident).where(*_consented(self.reader)), Resident, query)
        rows, after = _page(self.session.exec(stmt).all(), query, lambda r: str(r.id))
        served = Served([resources.patient(r, self.site) for r in rows], after=after)
        served.residents = {r.id: r.center_id for r in rows if r.id is not None}
        return served

    def _relatedperson(self, query: Query) -> Served:
        stmt = self._resident_scoped(FamilyContact, query)
        return self._of_residents(stmt, query, lambda contact, _: resources.related_person(contact))

    def _careplan(self, query: Query) -> Served:
        stmt = self._resident_scoped(CarePlan, query)
        for prefix, start, end in query.dates:  # the plan's period overlaps the range asked for
            first, last = start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
            ends = sa.func.coalesce(col(CarePlan.ends_on), date.max)
            clause = {
                "eq": sa.and_(col(CarePlan.starts_on) < last, ends >= first),
                "ge": ends >= first,
                "gt": ends >= last,
                "le": col(CarePlan.starts_on) < last,
                "lt": col(CarePlan.starts_on) < first,
            }[prefix]
            stmt = stmt.where(clause)
        return self._of_residents(
            stmt, query, lambda plan, _: resources.care_plan(plan, self.services(plan.center_id), self.today)
        )

    def _encounter(self, query: Query) -> Served:
        stmt = self._resident_scoped(Visit, query, col(Visit.scheduled_start))
        return self._of_residents(
            stmt, query, lambda visit, resident: resources.encounter(visit, self.services(visit.center_id), resident)
        )

    def _adverseevent(self, query: Query) -> Served:
        stmt = self._resident_scoped(Alert, query, col(Alert.opened_at)).where(Alert.kind == AlertKind.fall)
        return self._of_residents(stmt, query, lambda alert, _: resources.adverse_event(alert))

    def _questionnaireresponse(self, query: Query) -> Served:
        authored = sa.func.coalesce(col(Assessment.signed_at), col(Assessment.created_at))
        if query.ids and "questionnaire" in query.used:  # the form's code, not the response's id
            forms, query = query.ids, replace(query, ids=())
        else:
            forms = ()
        stmt = self._resident_scoped(Assessment, query, authored)
        if forms:
            stmt = stmt.where(col(Assessment.definition).in_(forms))
        known = definitions()
        return self._of_residents(
            stmt, query, lambda a, _: resources.questionnaire_response(a, known.get(a.definition), self.site)
        )

    def _observation(self, query: Query) -> Served:
        """Observations are a reading's vital signs; ids `<reading id>-<key>`, paged by reading."""
        wanted = {codes.KEY_BY_LOINC.get(code, "?") for code in query.codes}
        if "?" in wanted:
            return Served([])  # a code this server never gives
        after_reading, after_key = None, None
        if query.after is not None:
            after_reading, _, after_key = query.after.partition("-")
        ids: dict[int, set[str]] = {}
        for value in query.ids:
            reading_id, _, key = value.partition("-")
            if key not in codes.VITAL_BY_KEY:
                return Served([])
            ids.setdefault(_whole(reading_id, "_id"), set()).add(key)
        columns = [
            col(getattr(Reading, column)).is_not(None)
            for column, v in codes.VITALS.items()
            if not wanted or v.key in wanted
        ]
        stmt = (
            select(Reading, Resident)
            .join(Resident, col(Resident.id) == col(Reading.resident_id))
            .where(
                *_consented(self.reader), col(Reading.center_id).in_(sorted(self.reader.center_ids)), sa.or_(*columns)
            )
        )
        if query.patient is not None:
            stmt = stmt.where(col(Reading.resident_id) == query.patient)
        if ids:
            stmt = stmt.where(col(Reading.id).in_(sorted(ids)))
        if after_reading is not None:
            stmt = stmt.where(col(Reading.id) >= _whole(after_reading, "_after"))
        stmt = stmt.where(*_date_clause(col(Reading.recorded_at), query.dates))
        stmt = stmt.where(*_date_clause(col(Reading.received_at), query.updated))
        # Each reading gives at least one Observation: count + 1 readings tell whether more follow.
        rows = self.session.exec(stmt.order_by(col(Reading.id)).limit(query.count + 1)).all()
        served = Served([])
        pending: list[tuple[Json, int, int]] = []
        for reading, resident in rows:
            skipping = reading.id == (int(after_reading) if after_reading else None)
            keys = ids.get(reading.id or 0, set()) if ids else None  # the ones asked for by id, and by code
            if wanted:
                keys = wanted if keys is None else keys & wanted
            for resource in resources.observations(reading, keys):
                key = resource["id"].split("-", 1)[1]
                if skipping:
                    if key == after_key:
                        skipping = False
                    continue
                pending.append((resource, resident.id or 0, resident.center_id))
        for resource, resident_id, center_id in pending[: query.count]:
            served.resources.append(resource)
            served.residents[resident_id] = center_id
        if len(pending) > query.count:
            served.after = served.resources[-1]["id"]
        return served

    def _practitioner(self, query: Query) -> Served:
        stmt = _by_id(select(Staff).where(col(Staff.center_id).in_(sorted(self.reader.center_ids))), Staff, query)
        rows, after = _page(self.session.exec(stmt).all(), query, lambda s: str(s.id))
        served = Served([resources.practitioner(s) for s in rows], after=after)
        served.staff = {s.id: s.center_id for s in rows if s.id is not None and s.center_id is not None}
        return served

    def _questionnaire(self, query: Query) -> Served:
        forms = sorted(definitions().values(), key=lambda d: d.code)
        if query.ids:
            forms = [d for d in forms if d.code in query.ids]
        if query.after is not None:
            forms = [d for d in forms if d.code > query.after]
        page, after = _page(forms, query, lambda d: d.code)
        return Served([resources.questionnaire(d, self.site) for d in page], after=after)


def read(searcher: Searcher, kind: Kind, resource_id: str) -> Served:
    """One resource by id; NotFound when it does not exist or is not the client's to read."""
    if not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", resource_id):
        raise NotFound("{what} {id} not found", what=kind.name, id=resource_id)
    served = searcher.run(kind, Query(ids=(resource_id,), count=1))
    if not served.resources:
        raise NotFound("{what} {id} not found", what=kind.name, id=resource_id)
    served.after = None
    return served


def bundle(kind: Kind, query: Query, served: Served, site: Site) -> Json:
    """A `searchset` Bundle with self and next links (the next one carries `_after`)."""
    params = [(name, value) for name, values in query.used.items() for value in values]
    links = [{"relation": "self", "url": f"{site.base}/{kind.name}" + (f"?{urlencode(params)}" if params else "")}]
    if served.after is not None:
        links.append(
            {"relation": "next", "url": f"{site.base}/{kind.name}?{urlencode([*params, ('_after', served.after)])}"}
        )
    found: Json = {"resourceType": "Bundle", "type": "searchset", "link": links}
    if served.resources:  # FHIR has no empty arrays: an empty page has no `entry`
        found["entry"] = [
            {"fullUrl": f"{site.base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in served.resources
        ]
    return found


def audit(session: Session, reader: Reader, kind: Kind, served: Served, now: datetime) -> None:
    """One audit event per resident (or staff member) whose records went out, as for a person's read."""
    actor = reader.actor()
    for entity_type, records in (("resident", served.residents), ("staff", served.staff)):
        for record_id, center_id in sorted(records.items()):
            record_event(
                session=session,
                actor=actor,
                action=f"fhir.{kind.name}.read",
                entity_type=entity_type,
                entity_id=record_id,
                center_id=center_id,
                now=now,
            )
