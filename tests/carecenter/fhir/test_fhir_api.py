"""The FHIR API as the district's health platform reads it: a token per receiving system, scoped
to its centers and to residents who consented; every resource and Bundle checked by the FHIR
model library (`fhir.resources`), every error an OperationOutcome, every read audited."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlmodel import Session, col, select

from carecenter.access import Role
from carecenter.alerts.models import AlertKind, AlertStatus
from carecenter.audit.models import AuditEvent
from carecenter.centers.models import Center
from carecenter.residents.models import Resident
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import (
    login,
    make_alert,
    make_assessment,
    make_center,
    make_contact,
    make_device,
    make_plan,
    make_resident,
    make_staff,
    make_visit,
)

FHIR = "application/fhir+json"


def valid(body: dict[str, Any]) -> dict[str, Any]:
    """The body read by the library as its resource type (a Bundle: each entry as its own type)."""
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    for entry in body.get("entry", []):
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    return body


def ids(bundle: dict[str, Any]) -> list[str]:
    return [entry["resource"]["id"] for entry in valid(bundle).get("entry", [])]


def platform_client(client: TestClient, admin: dict[str, str], centers: list[Center], name: str = "区健康平台") -> str:
    made = client.post("/api/v1/api-clients", json={"name": name, "center_ids": [c.id for c in centers]}, headers=admin)
    assert made.status_code == 201, made.text
    assert "token" not in client.get("/api/v1/api-clients", headers=admin).json()[0]
    token: str = made.json()["token"]
    return token


def consenting(session: Session, center: Center, **overrides: Any) -> Resident:
    return make_resident(session, center=center, consent_health_data=True, **overrides)


def send_vitals(client: TestClient, key: str, clock: Clock, n: int, **values: Any) -> None:
    body = {"event_id": f"v{n}", "kind": "vitals", "recorded_at": (clock.now - timedelta(minutes=n)).isoformat()}
    answer = client.post("/api/v1/checkins", json=body | values, headers={"X-Device-Key": key})
    assert answer.status_code in (200, 201, 202), answer.text


def test_each_resource_is_valid_fhir_and_only_the_clients_centers_and_consenting_residents(
    client: TestClient, session: Session, clock: Clock
) -> None:
    home, other = make_center(session), make_center(session)
    admin = login(client, make_staff(session, center=None, role=Role.admin))
    worker = make_staff(session, center=home, name="李护工")
    shared = consenting(session, home, consent_platform_id=True, phone="+8613900000011")
    silent = make_resident(session, center=home)  # no consent to health data
    elsewhere = consenting(session, other)
    contact = make_contact(session, resident=shared)
    plan = make_plan(session, resident=shared, preferred_worker_id=worker.id)
    visit = make_visit(
        session,
        resident=shared,
        start=clock.now - timedelta(hours=3),
        worker_id=worker.id,
        status="completed",
        checked_in_at=clock.now - timedelta(hours=3),
        checked_out_at=clock.now - timedelta(hours=2),
        check_in_method="gps",
        check_out_method="home_code",
        check_in_distance_m=12.5,
        tasks=[{"service": "meals", "done": True}],
    )
    _, key = make_device(session, center=home, resident=shared)
    send_vitals(client, key, clock, 1, heart_rate=72, systolic=128, diastolic=82, spo2=97)
    send_vitals(client, key, clock, 2, temperature=36.6, steps=4200)
    fall = make_alert(session, resident=shared, kind=AlertKind.fall, status=AlertStatus.resolved)
    assessment = make_assessment(session, resident=shared, assessor_id=worker.id)
    for resident in (silent, elsewhere):
        make_contact(session, resident=resident)
        make_visit(session, resident=resident, start=clock.now)
        make_alert(session, resident=resident, kind=AlertKind.fall)
        make_assessment(session, resident=resident)
    token = {"Authorization": f"Bearer {platform_client(client, admin, [home])}"}

    def search(path: str) -> dict[str, Any]:
        answer = client.get(f"/fhir/R4/{path}", headers=token)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith(FHIR)
        body = valid(answer.json())
        assert body["type"] == "searchset"
        return body

    patients = search("Patient")["entry"]
    assert [p["resource"]["id"] for p in patients] == [str(shared.id)]
    patient = patients[0]["resource"]
    assert patient["identifier"][0]["value"] == shared.national_id  # consented to share it
    assert patient["name"][0]["text"] == shared.name and patient["gender"] == "female"
    assert patient["meta"]["lastUpdated"]
    assert ids(search("RelatedPerson")) == [str(contact.id)]
    assert search("RelatedPerson")["entry"][0]["resource"]["relationship"][0]["coding"][0]["code"] == "DAUC"
    assert str(worker.id) in ids(search("Practitioner"))
    care = search(f"CarePlan?patient=Patient/{shared.id}")["entry"][0]["resource"]
    assert care["id"] == str(plan.id) and care["status"] == "active"
    assert care["activity"][0]["detail"]["scheduledTiming"]["repeat"]["dayOfWeek"] == ["mon", "wed", "fri"]
    encounter = search(f"Encounter?patient={shared.id}")["entry"][0]["resource"]
    assert encounter["id"] == str(visit.id) and encounter["status"] == "finished"
    assert encounter["class"]["code"] == "HH" and encounter["participant"][0]["individual"]["reference"] == (
        f"Practitioner/{worker.id}"
    )
    verification = {e["url"]: e for e in encounter["extension"][0]["extension"]}
    assert verification["state"]["valueCode"] == "verified"
    assert verification["checkOutMethod"]["valueCode"] == "home_code"

    observations = {o["resource"]["code"]["coding"][0]["code"]: o["resource"] for o in search("Observation")["entry"]}
    assert set(observations) == {"8867-4", "85354-9", "59408-5", "8310-5", "55423-8"}
    assert observations["8867-4"]["valueQuantity"] == {
        "value": 72,
        "unit": "beats/minute",
        "system": "http://unitsofmeasure.org",
        "code": "/min",
    }
    panel = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in observations["85354-9"]["component"]}
    assert panel == {"8480-6": 128, "8462-4": 82}
    assert observations["8310-5"]["valueQuantity"]["code"] == "Cel"
    assert observations["59408-5"]["category"][0]["coding"][0]["code"] == "vital-signs"

    falls = search("AdverseEvent")["entry"]
    assert [f["resource"]["id"] for f in falls] == [str(fall.id)]
    assert falls[0]["resource"]["event"]["coding"][0]["code"] == "217082002"
    answers = search("QuestionnaireResponse")["entry"]
    assert [a["resource"]["id"] for a in answers] == [str(assessment.id)]
    response = answers[0]["resource"]
    assert response["status"] == "completed" and response["questionnaire"].endswith(
        "/Questionnaire/gbt-42195-2022|2022"
    )
    form = client.get("/fhir/R4/Questionnaire/gbt-42195-2022", headers=token)
    assert form.status_code == 200
    questions = {q["linkId"] for group in valid(form.json())["item"] for q in group.get("item", [])}
    answered = {q["linkId"] for group in response["item"] for q in group.get("item", [])}
    assert answered and answered <= questions  # every answer is to a question of the form

    # Read by id: the same resource; another center's or a non-consenting resident's: not found.
    read = client.get(f"/fhir/R4/Encounter/{visit.id}", headers=token)
    assert read.status_code == 200 and valid(read.json())["id"] == str(visit.id)
    for hidden in (f"Patient/{elsewhere.id}", f"Patient/{silent.id}", f"RelatedPerson/{elsewhere.id}"):
        missing = client.get(f"/fhir/R4/{hidden}", headers=token)
        assert missing.status_code == 404
        assert valid(missing.json())["issue"][0]["code"] == "not-found"
    # Every resident whose records went out is in the audit trail under the client's name.
    session.expire_all()
    reads = session.exec(select(AuditEvent).where(col(AuditEvent.action).startswith("fhir."))).all()
    assert {event.entity_id for event in reads if event.entity_type == "resident"} == {shared.id}
    assert {event.actor_username for event in reads} == {"api:区健康平台"}
    assert {"fhir.Patient.read", "fhir.Observation.read", "fhir.Encounter.read"} <= {e.action for e in reads}


def test_the_national_id_only_with_consent_to_share_it(client: TestClient, session: Session) -> None:
    center = make_center(session)
    admin = login(client, make_staff(session, center=None, role=Role.admin))
    resident = consenting(session, center)
    token = {"Authorization": f"Bearer {platform_client(client, admin, [center])}"}
    patient = client.get(f"/fhir/R4/Patient/{resident.id}", headers=token).json()
    assert "identifier" not in valid(patient)
    manager = login(client, make_staff(session, center=center, role=Role.manager))
    changed = client.patch(f"/api/v1/residents/{resident.id}", json={"consent_platform_id": True}, headers=manager)
    assert changed.status_code == 200, changed.text
    again = valid(client.get(f"/fhir/R4/Patient/{resident.id}", headers=token).json())
    assert again["identifier"][0]["value"] == resident.national_id
    assert again["meta"]["lastUpdated"] >= patient["meta"]["lastUpdated"]


def test_pages_follow_next_links_without_a_gap_or_a_repeat(client: TestClient, session: Session, clock: Clock) -> None:
    center = make_center(session)
    admin = login(client, make_staff(session, center=None, role=Role.admin))
    resident = consenting(session, center)
    _, key = make_device(session, center=center, resident=resident)
    for n in range(7):  # 7 readings, 2 Observations each: 14
        send_vitals(client, key, clock, n, heart_rate=60 + n, spo2=95)
    token = {"Authorization": f"Bearer {platform_client(client, admin, [center])}"}
    url: str | None = f"/fhir/R4/Observation?patient={resident.id}&_count=3"
    seen: list[str] = []
    pages = 0
    while url:
        answer = client.get(url, headers=token)
        assert answer.status_code == 200, answer.text
        page = valid(answer.json())
        got = ids(page)
        assert 0 < len(got) <= 3
        seen += got
        pages += 1
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
        if url:
            assert "_count=3" in url and f"patient={resident.id}" in url
            url = url[url.index("/fhir/R4/") :]
    assert len(seen) == 14 and len(set(seen)) == 14 and pages == 5

    only_heart = ids(client.get("/fhir/R4/Observation?code=http://loinc.org|8867-4", headers=token).json())
    assert len(only_heart) == 7 and all(i.endswith("-hr") for i in only_heart)
    day = clock.now.astimezone(UTC).date()
    tomorrow = (day + timedelta(days=2)).isoformat()
    assert ids(client.get(f"/fhir/R4/Observation?date=ge{tomorrow}", headers=token).json()) == []
    assert len(ids(client.get(f"/fhir/R4/Observation?date=lt{tomorrow}&_count=100", headers=token).json())) == 14
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(client.get(f"/fhir/R4/Observation?_lastUpdated=gt{later}", headers=token).json()) == []


def test_errors_are_operation_outcomes_and_a_revoked_token_reads_nothing(client: TestClient, session: Session) -> None:
    center = make_center(session)
    admin_staff = make_staff(session, center=None, role=Role.admin)
    admin = login(client, admin_staff)
    consenting(session, center)
    token = platform_client(client, admin, [center])
    headers = {"Authorization": f"Bearer {token}"}

    def outcome(path: str, status: int, code: str, headers: dict[str, str] = headers) -> str:
        answer = client.get(path, headers=headers)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith(FHIR)
        issue = valid(answer.json())["issue"][0]
        assert issue["code"] == code
        return str(issue["diagnostics"])

    metadata = client.get("/fhir/R4/metadata")
    statement = valid(metadata.json())
    assert statement["fhirVersion"] == "4.0.1"
    served = {r["type"] for r in statement["rest"][0]["resource"]}
    assert {"Patient", "Observation", "Encounter", "QuestionnaireResponse", "AdverseEvent"} <= served

    assert "token" in outcome("/fhir/R4/Patient", 401, "login", {})
    outcome("/fhir/R4/Patient", 401, "login", {"Authorization": "Bearer nonsense"})
    staff_token = admin  # a person's session token is not a platform token
    outcome("/fhir/R4/Patient", 401, "login", staff_token)
    assert "birthdate" in outcome("/fhir/R4/Patient?birthdate=1940", 400, "invalid")
    assert "2026-13-01" in outcome("/fhir/R4/Encounter?date=2026-13-01", 400, "invalid")
    outcome("/fhir/R4/Encounter?date=yesterday", 400, "invalid")
    outcome("/fhir/R4/Encounter?date=ap2026-01-01", 400, "invalid")
    outcome("/fhir/R4/Patient?_count=0", 400, "invalid")
    outcome("/fhir/R4/Patient?_count=1000", 400, "invalid")
    outcome("/fhir/R4/Encounter?patient=Patient/abc", 400, "invalid")
    outcome("/fhir/R4/Medication", 404, "not-found")
    outcome("/fhir/R4/Patient/999999999", 404, "not-found")
    outcome("/fhir/R4/Observation/1-nonsense", 404, "not-found")
    outcome("/fhir/R4/Patient/%27%20OR%201=1", 404, "not-found")
    assert client.post("/fhir/R4/Patient", json={}, headers=headers).status_code == 405
    assert client.get("/fhir/R4/Patient?_format=json", headers=headers).status_code == 200

    listed = client.get("/api/v1/api-clients", headers=admin).json()
    revoked = client.delete(f"/api/v1/api-clients/{listed[0]['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert "revoked" in outcome("/fhir/R4/Patient", 401, "login")
    session.expire_all()
    trail = session.exec(select(AuditEvent.action).where(AuditEvent.entity_type == "api_client")).all()
    assert sorted(trail) == ["api_client.create", "api_client.revoke"]


def test_only_an_admin_manages_api_clients(client: TestClient, session: Session) -> None:
    center = make_center(session)
    admin = login(client, make_staff(session, center=None, role=Role.admin))
    manager = login(client, make_staff(session, center=center, role=Role.manager))
    body = {"name": "平台", "center_ids": [center.id]}
    assert client.post("/api/v1/api-clients", json=body, headers=manager).status_code == 403
    assert client.get("/api/v1/api-clients", headers=manager).status_code == 403
    assert client.post("/api/v1/api-clients", json=body, headers=admin).status_code == 201
    assert client.post("/api/v1/api-clients", json=body, headers=admin).status_code == 409
    unknown = client.post("/api/v1/api-clients", json={"name": "别的", "center_ids": [987654]}, headers=admin)
    assert unknown.status_code == 404 and unknown.json()["detail"] == "center not found"
    for bad in (
        {"name": "", "center_ids": [center.id]},
        {"name": "x<script>", "center_ids": [center.id]},
        {"name": "平台二", "center_ids": []},
        {"name": " m", "center_ids": [center.id]},  # the schema's length counts the space: it is refused, not cut
        {"name": "平台三 ", "center_ids": [center.id]},
    ):
        assert client.post("/api/v1/api-clients", json=bad, headers=admin).status_code == 422
    assert client.delete("/api/v1/api-clients/424242", headers=admin).status_code == 404


def test_an_admin_creates_and_revokes_a_client_in_the_console(client: TestClient, session: Session) -> None:
    here, there = make_center(session), make_center(session)
    consenting(session, here)
    admin = make_staff(session, center=None, role=Role.admin)
    csrf = web_login(client, admin.username)
    page = client.get("/manage/api-clients")
    assert page.status_code == 200 and "还没有 API 客户端" in page.text
    refused = client.post("/manage/api-clients", data={"csrf": csrf, "name": "x", "center_ids": str(here.id)})
    assert refused.status_code == 200 and 'role="alert"' in refused.text and 'id="token"' not in refused.text
    made = client.post(
        "/manage/api-clients",
        data={"csrf": csrf, "name": " 区平台 ", "center_ids": [str(here.id), str(there.id)]},  # as typed
    )
    token = re.search(r'<code id="token">([^<]+)</code>', made.text)
    assert token is not None and token[1].startswith("ccp_")
    assert token[1] not in client.get("/manage/api-clients").text  # shown once
    headers = {"Authorization": f"Bearer {token[1]}"}
    assert client.get("/fhir/R4/Patient", headers=headers).status_code == 200
    listed = client.get("/api/v1/api-clients", headers=login(client, admin)).json()
    client_id = listed[0]["id"]
    assert listed[0]["name"] == "区平台"
    assert sorted(listed[0]["center_ids"]) == sorted([here.id or 0, there.id or 0])
    client.post(f"/manage/api-clients/{client_id}/revoke", data={"csrf": csrf})
    assert client.get("/fhir/R4/Patient", headers=headers).status_code == 401
    manager_browser = make_staff(session, center=here, role=Role.manager)
    client.cookies.clear()
    web_login(client, manager_browser.username)
    assert client.get("/manage/api-clients").status_code == 403
