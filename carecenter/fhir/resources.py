"""CareCenter's records as FHIR R4 resources, each built through `fhir.resources` (so a resource
that breaks the specification's structure fails here, not at the receiver).

`fhir.resources` ships R4B (4.3.0) beside R5; R4B changed none of the resources served here from
R4 (4.0.1), so the R4B models check what an R4 client reads. The library takes about a second to
import: it is imported on the first request of the platform API, not when the app starts.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from carecenter.alerts.models import Alert, AlertStatus, Outcome
from carecenter.assessments.definition import Definition
from carecenter.assessments.models import Assessment
from carecenter.catalogue.models import ServiceOffering
from carecenter.fhir import codes
from carecenter.readings.models import Reading
from carecenter.residents.models import FamilyContact, Resident, ResidentStatus
from carecenter.staff.models import Staff
from carecenter.visits.models import CarePlan, Recurrence, Visit
from carecenter.visits.verification import verification

Json = dict[str, Any]
SERVICE_SYSTEM = "urn:carecenter:service"  # a center's catalogue code (national codes: issue #29 §2)
VERIFICATION_URL = "urn:carecenter:fhir:extension:visit-verification"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Site:
    """What every resource's links are made from: the API's public base and the ID system."""

    base: str  # e.g. https://care.example.cn/fhir/R4
    national_id_system: str

    def questionnaire_url(self, code: str) -> str:
        return f"{self.base}/Questionnaire/{code}"


@cache
def model(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def built(resource: Json) -> Json:
    """The resource as the library reads and writes it: validated, `None`s and empties dropped."""
    return dict(model(resource["resourceType"]).model_validate(resource).model_dump(mode="json", exclude_none=True))


def instant(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def meta(updated: datetime | None, fallback: datetime) -> Json:
    return {"lastUpdated": instant(updated or fallback)}


def reference(resource_type: str, record_id: int | None, display: str | None = None) -> Json | None:
    if record_id is None:
        return None
    return {"reference": f"{resource_type}/{record_id}", **({"display": display} if display else {})}


def patient(resident: Resident, site: Site) -> Json:
    identifiers = []
    if resident.consent_platform_id and resident.national_id:
        identifiers.append(
            {
                "use": "official",
                "type": {"coding": [{"system": codes.IDENTIFIER_TYPE, "code": "NI"}], "text": "居民身份证"},
                "system": site.national_id_system,
                "value": resident.national_id,
            }
        )
    return built(
        {
            "resourceType": "Patient",
            "id": str(resident.id),
            "meta": meta(resident.updated_at, resident.created_at),
            "identifier": identifiers or None,
            "active": resident.status != ResidentStatus.moved_out,
            "name": [{"text": resident.name}],
            "telecom": [{"system": "phone", "value": resident.phone, "use": "home"}] if resident.phone else None,
            "gender": str(resident.gender),
            "birthDate": resident.birth_date.isoformat() if resident.birth_date else None,
            "deceasedBoolean": resident.status == ResidentStatus.deceased,
            "address": [{"text": resident.address, "use": "home"}] if resident.address else None,
        }
    )


def related_person(contact: FamilyContact) -> Json:
    code = codes.RELATIONSHIP.get(str(contact.relation))
    relationship = {"text": str(contact.relation)}
    if code is not None:
        relationship["coding"] = [{"system": codes.ROLE_CODE, "code": code[0], "display": code[1]}]  # type: ignore[assignment]
    return built(
        {
            "resourceType": "RelatedPerson",
            "id": str(contact.id),
            "meta": meta(contact.updated_at, contact.created_at),
            "active": True,
            "patient": reference("Patient", contact.resident_id),
            "relationship": [relationship],
            "name": [{"text": contact.name}],
            "telecom": [{"system": "phone", "value": contact.phone, "rank": contact.priority}],
        }
    )


def practitioner(staff: Staff) -> Json:
    """A name and whether they still work here: no phone, no login name."""
    return built(
        {
            "resourceType": "Practitioner",
            "id": str(staff.id),
            "meta": meta(staff.updated_at, staff.created_at),
            "active": staff.active,
            "name": [{"text": staff.name}],
        }
    )


def service_concept(code: str, services: dict[str, ServiceOffering]) -> Json:
    offering = services.get(code)
    coding: Json = {"system": SERVICE_SYSTEM, "code": code}
    if offering is not None:
        coding["display"] = offering.name_zh
    return {"coding": [coding], "text": offering.name_zh if offering else code}


def _timing(recurrence: Recurrence) -> Json:
    repeat: Json = {"duration": recurrence.duration_minutes, "durationUnit": "min"}
    repeat["timeOfDay"] = [recurrence.start_time.strftime("%H:%M:%S")]
    if recurrence.weekdays:
        repeat["dayOfWeek"] = [WEEKDAYS[day] for day in sorted(set(recurrence.weekdays))]
    elif recurrence.every_n_days:
        repeat.update(frequency=1, period=recurrence.every_n_days, periodUnit="d")
    return {"repeat": repeat}


def care_plan(plan: CarePlan, services: dict[str, ServiceOffering], today: date) -> Json:
    ended = plan.ends_on is not None and plan.ends_on < today
    status = "active" if plan.active and not ended else ("completed" if ended else "revoked")
    timing = _timing(Recurrence.model_validate(plan.recurrence))
    activities: list[Json] = [
        {"detail": {"code": service_concept(code, services), "status": "scheduled", "scheduledTiming": timing}}
        for code in plan.services
    ]
    for medication in plan.medications:
        activities.append(
            {
                "detail": {
                    "kind": "MedicationRequest",
                    "code": {"text": medication.name},
                    "status": "scheduled",
                    "scheduledTiming": {"repeat": {"timeOfDay": [t.strftime("%H:%M:%S") for t in medication.times]}},
                    "description": " ".join(
                        part for part in (medication.dose, medication.route, medication.notes) if part
                    ),
                }
            }
        )
    return built(
        {
            "resourceType": "CarePlan",
            "id": str(plan.id),
            "meta": meta(plan.updated_at, plan.created_at),
            "status": status,
            "intent": "plan",
            "subject": reference("Patient", plan.resident_id),
            "period": {"start": plan.starts_on.isoformat(), "end": plan.ends_on.isoformat() if plan.ends_on else None},
            "author": reference("Practitioner", plan.preferred_worker_id),
            "note": [{"text": plan.notes}] if plan.notes else None,
            "activity": activities or None,
        }
    )


def _verification_extension(visit: Visit) -> Json | None:
    state = verification(visit)
    if state is None:
        return None
    parts: list[Json] = [{"url": "state", "valueCode": str(state)}]
    for end, method, distance in (
        ("checkIn", visit.check_in_method, visit.check_in_distance_m),
        ("checkOut", visit.check_out_method, visit.check_out_distance_m),
    ):
        if method:
            parts.append({"url": f"{end}Method", "valueCode": method})
        if distance is not None:
            parts.append({"url": f"{end}DistanceMetres", "valueDecimal": round(distance, 1)})
    if visit.exception:
        parts.append({"url": "exception", "valueCode": visit.exception})
    return {"url": VERIFICATION_URL, "extension": parts}


def encounter(visit: Visit, services: dict[str, ServiceOffering], resident: Resident) -> Json:
    tasks = [task.service for task in visit.tasks]
    start = visit.checked_in_at or visit.scheduled_start
    end = visit.checked_out_at if visit.checked_in_at else visit.scheduled_end
    extension = _verification_extension(visit)
    return built(
        {
            "resourceType": "Encounter",
            "id": str(visit.id),
            "meta": meta(visit.updated_at, visit.created_at),
            "extension": [extension] if extension else None,
            "status": codes.ENCOUNTER_STATUS.get(visit.status, "unknown"),
            "class": {"system": codes.ACT_CODE, "code": "HH", "display": "home health"},
            "type": [service_concept(code, services) for code in tasks] or None,
            "serviceType": service_concept(tasks[0], services) if tasks else None,
            "subject": reference("Patient", visit.resident_id),
            "participant": [{"individual": reference("Practitioner", visit.worker_id)}] if visit.worker_id else None,
            "period": {"start": instant(start), "end": instant(end)},
            "reasonCode": [{"text": visit.cancel_reason}] if visit.cancel_reason else None,
            "location": [{"location": {"display": resident.address or resident.name}}],
        }
    )


def _quantity(vital: codes.Vital, value: float) -> Json:
    return {"value": value, "unit": vital.unit, "system": codes.UCUM, "code": vital.ucum}


def _concept(vital: codes.Vital) -> Json:
    coding = [{"system": codes.LOINC, "code": vital.code, "display": vital.display}]
    coding += [{"system": codes.LOINC, "code": code, "display": display} for code, display in vital.extra_codes]
    return {"coding": coding, "text": vital.display}


def observations(reading: Reading, keys: Collection[str] | None = None) -> list[Json]:
    """One Observation per vital sign the reading holds (blood pressure as one panel), ids
    `<reading id>-<key>`; only those of `keys` when given (the others are not built)."""
    found: list[Json] = []
    for column, vital in codes.VITALS.items():
        value = getattr(reading, column)
        if value is None or (keys is not None and vital.key not in keys):
            continue
        resource: Json = {
            "resourceType": "Observation",
            "id": f"{reading.id}-{vital.key}",
            "meta": {"lastUpdated": instant(reading.received_at)},
            "status": "final",
            "category": [{"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": vital.category}]}],
            "code": _concept(vital),
            "subject": reference("Patient", reading.resident_id),
            "effectiveDateTime": instant(reading.recorded_at),
            "issued": instant(reading.received_at),
            "method": {"text": "device" if reading.source == "device" else "measured on a home visit"},
        }
        if vital is codes.BLOOD_PRESSURE:
            resource["component"] = [
                {"code": _concept(part), "valueQuantity": _quantity(part, part_value)}
                for part, part_value in ((codes.SYSTOLIC, reading.systolic), (codes.DIASTOLIC, reading.diastolic))
                if part_value is not None
            ]
        else:
            resource["valueQuantity"] = _quantity(vital, value)
        found.append(built(resource))
    return found


def adverse_event(alert: Alert) -> Json:
    """A fall: actual unless it was called off (the OK button, or a false alarm)."""
    called_off = alert.status == AlertStatus.cancelled or alert.outcome == Outcome.false_alarm
    outcome = "ongoing" if alert.status in (AlertStatus.open, AlertStatus.acknowledged) else "resolved"
    return built(
        {
            "resourceType": "AdverseEvent",
            "id": str(alert.id),
            "meta": meta(alert.updated_at, alert.opened_at),
            "actuality": "potential" if called_off else "actual",
            "event": {
                "coding": [{"system": codes.SNOMED, "code": codes.FALL_SNOMED[0], "display": codes.FALL_SNOMED[1]}],
                "text": "跌倒",
            },
            "subject": reference("Patient", alert.resident_id),
            "date": instant(alert.opened_at),
            "detected": instant(alert.opened_at),
            "recordedDate": instant(alert.opened_at),
            "seriousness": {"text": "hospital transfer"} if alert.outcome == Outcome.hospital_transfer else None,
            "outcome": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome", "code": outcome}]
            },
        }
    )


def questionnaire(definition: Definition, site: Site) -> Json:
    groups: list[Json] = [
        {
            "linkId": domain.code,
            "text": domain.name.zh,
            "type": "group",
            "item": [
                {
                    "linkId": item.code,
                    "text": item.name.zh,
                    "type": "choice",
                    "required": True,
                    "answerOption": [
                        {
                            "valueCoding": {
                                "system": site.questionnaire_url(definition.code),
                                "code": o.code,
                                "display": o.label.zh,
                            }
                        }
                        for o in item.options
                    ],
                }
                for item in domain.items
            ],
        }
        for domain in definition.domains
    ]
    groups.append({"linkId": "total", "text": "总分", "type": "integer", "readOnly": True})
    groups.append(
        {
            "linkId": "level",
            "text": "能力等级",
            "type": "choice",
            "readOnly": True,
            "answerOption": [
                {
                    "valueCoding": {
                        "system": site.questionnaire_url(definition.code),
                        "code": f"level:{level.code}",
                        "display": level.name.zh,
                    }
                }
                for level in definition.levels
            ],
        }
    )
    return built(
        {
            "resourceType": "Questionnaire",
            "id": definition.code,
            "url": site.questionnaire_url(definition.code),
            "version": definition.version,
            "language": "zh-CN",
            "title": definition.title.zh,
            "status": "active",
            "subjectType": ["Patient"],
            "description": definition.source,
            "item": groups,
        }
    )


def questionnaire_response(assessment: Assessment, definition: Definition | None, site: Site) -> Json:
    url = site.questionnaire_url(assessment.definition)

    def coding(code: str, display: str | None) -> Json:
        return {"valueCoding": {"system": url, "code": code, **({"display": display} if display else {})}}

    items: list[Json] = []
    if definition is not None:
        for domain in definition.domains:
            answered = []
            for item in domain.items:
                chosen = assessment.answers.get(item.code)
                if chosen is None:
                    continue
                option = item.option(chosen)
                answered.append(
                    {
                        "linkId": item.code,
                        "text": item.name.zh,
                        "answer": [coding(chosen, option.label.zh if option else None)],
                    }
                )
            if answered:
                items.append({"linkId": domain.code, "text": domain.name.zh, "item": answered})
    if assessment.total is not None:
        items.append({"linkId": "total", "answer": [{"valueInteger": assessment.total}]})
    if assessment.level is not None:
        level = definition.level(assessment.level) if definition else None
        items.append(
            {"linkId": "level", "answer": [coding(f"level:{assessment.level}", level.name.zh if level else None)]}
        )
    return built(
        {
            "resourceType": "QuestionnaireResponse",
            "id": str(assessment.id),
            "meta": meta(assessment.updated_at, assessment.created_at),
            "questionnaire": f"{url}|{assessment.definition_version}",
            "status": "completed" if assessment.signed_at else "in-progress",
            "subject": reference("Patient", assessment.resident_id),
            "authored": instant(assessment.signed_at or assessment.created_at),
            "author": reference("Practitioner", assessment.assessor_id),
            "item": items or None,
        }
    )
