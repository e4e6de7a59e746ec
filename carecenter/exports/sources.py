"""The rows an export template fills, read from the center's records for one month, and the row
rules (`Check`) a receiver applies beyond the columns: a claim pays only for verified visits, for
residents insured on the day, with a signed assessment of the last year."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from carecenter.assessments.models import Assessment
from carecenter.assessments.service import standing_assessments
from carecenter.catalogue.service import catalogue
from carecenter.centers.divisions import full_name
from carecenter.centers.models import Center
from carecenter.residents.models import Resident, ResidentStatus
from carecenter.service_records.models import ServiceRecord
from carecenter.service_records.service import month_bounds
from carecenter.staff.models import Staff
from carecenter.subsidies.models import Eligibility, EligibilityGroup
from carecenter.visits.models import Visit
from carecenter.visits.verification import ExceptionState

ASSESSMENT_VALID = timedelta(days=365)  # a capacity assessment is redone yearly (GB/T 42195-2022)


class Rows(StrEnum):
    """What one row of the file is."""

    ltci_claim = "ltci_claim"  # a service given to an insured resident in the month
    subsidy_report = "subsidy_report"  # a resident whose services a subsidy paid for in the month
    roster = "roster"  # a resident of the center, with their assessed level


class Check(StrEnum):
    """A rule about the whole row (beyond its columns)."""

    visit_verified = "visit_verified"  # the visit behind the record verified, or approved by a manager
    valid_assessment = "valid_assessment"  # a signed assessment of the last 365 days
    insured = "insured"  # the resident holds LTCI eligibility on the day


CENTER_FIELDS = ["center.name", "center.division_code", "center.division_name"]
RESIDENT_FIELDS = [
    "resident.id",
    "resident.name",
    "resident.national_id",
    "resident.gender",
    "resident.birth_date",
    "resident.address",
    "resident.phone",
    "resident.care_level",
    "resident.status",
    "assessment.level",
    "assessment.assessed_on",
    "assessment.total",
]
FIELDS: dict[Rows, set[str]] = {
    Rows.ltci_claim: {
        *CENTER_FIELDS,
        *RESIDENT_FIELDS,
        "insurance.number",
        "record.id",
        "record.service_on",
        "record.quantity",
        "record.unit",
        "record.category",
        "record.amount_fen",
        "record.unit_price_fen",
        "record.adjusts_id",
        "service.code",
        "service.name",
        "service.ltci_code",
        "service.province_code",
        "visit.id",
        "visit.checked_in_at",
        "visit.checked_out_at",
        "visit.worker",
        "visit.check_in_method",
        "visit.check_out_method",
        "visit.verification",
    },
    Rows.subsidy_report: {
        *CENTER_FIELDS,
        *RESIDENT_FIELDS,
        "subsidy.group",
        "subsidy.document_ref",
        "subsidy.records",
        "subsidy.amount_fen",
        "subsidy.subsidy_fen",
        "subsidy.resident_fen",
    },
    Rows.roster: {*CENTER_FIELDS, *RESIDENT_FIELDS},
}


@dataclass
class SourceRow:
    """One row's values by field, who it is about (for the problem list), and what a row rule found."""

    values: dict[str, Any]
    who: str
    failed: list[str] = field(default_factory=list)  # Check values this row does not meet


def _center_values(center: Center) -> dict[str, Any]:
    code = center.division_code
    return {
        "center.name": center.name,
        "center.division_code": code,
        "center.division_name": full_name(code) if code else None,
    }


def _resident_values(resident: Resident, assessment: Assessment | None) -> dict[str, Any]:
    return {
        "resident.id": resident.id,
        "resident.name": resident.name,
        "resident.national_id": resident.national_id,
        "resident.gender": str(resident.gender),
        "resident.birth_date": resident.birth_date,
        "resident.address": resident.address or None,
        "resident.phone": resident.phone,
        "resident.care_level": str(resident.care_level) if resident.care_level else None,
        "resident.status": str(resident.status),
        "assessment.level": assessment.level if assessment else None,
        "assessment.assessed_on": assessment.assessed_on if assessment else None,
        "assessment.total": assessment.total if assessment else None,
    }


def _assessment_valid(assessment: Assessment | None, day: date) -> bool:
    return assessment is not None and assessment.assessed_on <= day < assessment.assessed_on + ASSESSMENT_VALID


def _insurance(session: Session, center_id: int, first: date, following: date) -> dict[int, list[Eligibility]]:
    found: dict[int, list[Eligibility]] = defaultdict(list)
    stmt = select(Eligibility).where(
        Eligibility.center_id == center_id,
        Eligibility.group == EligibilityGroup.ltci_insured,
        Eligibility.starts_on < following,
    )
    for eligibility in session.exec(stmt).all():
        if eligibility.ends_on is None or eligibility.ends_on >= first:
            found[eligibility.resident_id].append(eligibility)
    return found


def _insured_on(periods: list[Eligibility], day: date) -> Eligibility | None:
    return next((e for e in periods if e.starts_on <= day and (e.ends_on is None or day <= e.ends_on)), None)


def rows_for(session: Session, kind: Rows, center: Center, month: str) -> list[SourceRow]:
    assert center.id is not None
    first, following = month_bounds(month)
    residents = {r.id: r for r in session.exec(select(Resident).where(Resident.center_id == center.id)).all()}
    assessments = standing_assessments(session, center.id)
    if kind == Rows.roster:
        return [
            SourceRow(
                _center_values(center) | _resident_values(r, assessments.get(r.id or 0)),
                r.name,
                []
                if _assessment_valid(assessments.get(r.id or 0), following - timedelta(days=1))
                else [Check.valid_assessment],
            )
            for r in sorted(residents.values(), key=lambda r: r.id or 0)
            if r.status not in (ResidentStatus.moved_out, ResidentStatus.deceased)
        ]
    records = session.exec(
        select(ServiceRecord)
        .where(ServiceRecord.center_id == center.id, ServiceRecord.month == month)
        .order_by(col(ServiceRecord.service_on), col(ServiceRecord.id))
    ).all()
    if kind == Rows.subsidy_report:
        return _subsidy_rows(session, center, records, residents, assessments)
    return _claim_rows(session, center, first, following, records, residents, assessments)


def _subsidy_rows(
    session: Session,
    center: Center,
    records: Sequence[ServiceRecord],
    residents: dict[int | None, Resident],
    assessments: dict[int, Assessment],
) -> list[SourceRow]:
    by_resident: dict[tuple[int, str], list[ServiceRecord]] = defaultdict(list)
    for record in records:
        if record.subsidy_fen and record.eligibility_group:
            by_resident[(record.resident_id, record.eligibility_group)].append(record)
    documents = {
        (e.resident_id, str(e.group)): e.document_ref
        for e in session.exec(select(Eligibility).where(Eligibility.center_id == center.id)).all()
    }
    rows = []
    for (resident_id, group), theirs in sorted(by_resident.items()):
        resident = residents[resident_id]
        values = _center_values(center) | _resident_values(resident, assessments.get(resident_id))
        values |= {
            "subsidy.group": group,
            "subsidy.document_ref": documents.get((resident_id, group)),
            "subsidy.records": len(theirs),
            "subsidy.amount_fen": sum(r.amount_fen for r in theirs),
            "subsidy.subsidy_fen": sum(r.subsidy_fen for r in theirs),
            "subsidy.resident_fen": sum(r.resident_fen for r in theirs),
        }
        rows.append(SourceRow(values, resident.name))
    return rows


def _claim_rows(
    session: Session,
    center: Center,
    first: date,
    following: date,
    records: Sequence[ServiceRecord],
    residents: dict[int | None, Resident],
    assessments: dict[int, Assessment],
) -> list[SourceRow]:
    """The month's priced, delivered services (corrections included) of insured residents. A
    record of a visit rejected in the exception queue or left out when the month closed is not
    claimed; one whose visit still waits in the queue is claimed and fails `visit_verified`."""
    assert center.id is not None
    insured = _insurance(session, center.id, first, following)
    services = catalogue(session, center.id)
    visit_ids = {r.visit_id for r in records if r.visit_id is not None}
    visits = {v.id: v for v in session.exec(select(Visit).where(col(Visit.id).in_(sorted(visit_ids)))).all()}
    workers = dict(session.exec(select(Staff.id, Staff.name).where(Staff.center_id == center.id)).all())
    rows = []
    for record in records:
        if not record.delivered or record.resident_id not in insured:
            continue
        if record.amount_fen == 0 and record.adjusts_id is None:
            continue  # free (a welfare visit): nothing to claim
        visit = visits.get(record.visit_id)
        if visit is not None and visit.exception in (ExceptionState.rejected, ExceptionState.excluded):
            continue  # not claimed: the manager said so
        resident = residents[record.resident_id]
        assessment = assessments.get(record.resident_id)
        policy = _insured_on(insured[record.resident_id], record.service_on)
        offering = services.get(record.service_code)
        failed: list[str] = []
        if visit is not None and visit.exception == ExceptionState.open:
            failed.append(Check.visit_verified)
        if not _assessment_valid(assessment, record.service_on):
            failed.append(Check.valid_assessment)
        if policy is None:
            failed.append(Check.insured)
        values = _center_values(center) | _resident_values(resident, assessment)
        values |= {
            "insurance.number": policy.document_ref if policy else None,
            "record.id": record.id,
            "record.service_on": record.service_on,
            "record.quantity": record.quantity,
            "record.unit": record.unit,
            "record.category": record.category,
            "record.amount_fen": record.amount_fen,
            "record.unit_price_fen": record.unit_price_fen,
            "record.adjusts_id": record.adjusts_id,
            "service.code": record.service_code,
            "service.name": offering.name_zh if offering else record.service_code,
            "service.ltci_code": offering.ltci_code if offering else None,
            "service.province_code": offering.province_code if offering else None,
            "visit.id": visit.id if visit else None,
            "visit.checked_in_at": visit.checked_in_at if visit else record.checked_in_at,
            "visit.checked_out_at": visit.checked_out_at if visit else record.checked_out_at,
            "visit.worker": workers.get(record.worker_id),
            "visit.check_in_method": visit.check_in_method if visit else None,
            "visit.check_out_method": visit.check_out_method if visit else None,
            "visit.verification": (visit.exception or "verified") if visit else None,
        }
        rows.append(SourceRow(values, resident.name, failed))
    return rows
