from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from carecenter.access import Role
from carecenter.audit.models import AuditEvent
from carecenter.messaging.recipients import reachable_family
from carecenter.residents.models import CareLevel, FamilyContact, ResidentStatus
from notifications.outbox import opted_out_among, set_opted_out
from tests.factories import login, make_center, make_contact, make_resident, make_staff

NEW_RESIDENT: dict[str, Any] = {
    "name": "王秀英",
    "gender": "female",
    "birth_date": "1941-03-08",
    "national_id": "11011119400501008X",
    "phone": "138 0013 8000",
    "address": "北京市房山区长阳镇稻田村12号",
    "latitude": 39.76,
    "longitude": 116.21,
    "care_level": "semi_dependent",
    "living_situation": "alone",
    "conditions": "高血压",
    "allergies": "青霉素",
    "dementia": True,
    "wander_risk": True,
    "consent_health_data": True,
}


@pytest.fixture
def center_a(session: Session) -> Any:
    return make_center(session)


@pytest.fixture
def manager(session: Session, center_a: Any) -> Any:
    return make_staff(session, center=center_a, role=Role.manager)


@pytest.fixture
def worker(session: Session, center_a: Any) -> Any:
    return make_staff(session, center=center_a)


def test_manager_registers_a_resident_with_normalised_phone(client: TestClient, manager: Any, worker: Any) -> None:
    response = client.post(
        "/api/v1/residents", json=NEW_RESIDENT | {"primary_worker_id": worker.id}, headers=login(client, manager)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["phone"] == "+8613800138000"
    assert body["center_id"] == manager.center_id
    assert body["national_id"] == "11011119400501008X"  # managers see it in full
    assert body["primary_worker_id"] == worker.id


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "12345", "not a valid phone number"),
        ("name", "", "must not be blank"),
        ("name", "长" * 65, "at most 64 characters"),
        ("national_id", "110111194005010021", "check character"),
        ("birth_date", "2999-01-01", "between 1900-01-01 and today"),
        ("gender", "x", "'female' or 'male'"),
        ("latitude", 91, "Latitude: Must be at most 90."),
    ],
)
def test_invalid_input_is_a_422_naming_the_field(
    client: TestClient, manager: Any, field: str, value: Any, message: str
) -> None:
    response = client.post("/api/v1/residents", json=NEW_RESIDENT | {field: value}, headers=login(client, manager))
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert errors[0]["loc"] == ["body", field]
    assert message in errors[0]["msg"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "12345", "电话：手机号格式不正确"),
        ("name", "", "姓名：不能为空"),
        ("name", "长" * 65, "姓名：最多输入64个字符。"),
        ("national_id", "110111194005010021", "身份证号：校验位不符"),
        ("gender", "x", "性别：请从以下选项中选择"),
        ("latitude", 91, "纬度：不能大于90。"),
        ("birth_date", "1940-13-01", "出生日期：请按“年-月-日”（YYYY-MM-DD）输入日期。"),
    ],
)
def test_errors_come_in_the_language_the_client_accepts(
    client: TestClient, manager: Any, field: str, value: Any, message: str
) -> None:
    headers = login(client, manager) | {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
    response = client.post("/api/v1/residents", json=NEW_RESIDENT | {field: value}, headers=headers)
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", field]  # the machine-readable parts do not change with the language
    assert error["msg"].startswith(message), error["msg"]


def test_domain_errors_come_in_the_language_the_client_accepts(client: TestClient, manager: Any) -> None:
    headers = login(client, manager)
    missing = client.get("/api/v1/residents/999999", headers=headers | {"Accept-Language": "zh-CN"})
    assert missing.status_code == 404 and missing.json() == {"detail": "未找到该老人"}
    english = client.get("/api/v1/residents/999999", headers=headers | {"Accept-Language": "en-US,en;q=0.9"})
    assert english.json() == {"detail": "resident not found"}
    assert client.get("/api/v1/residents/999999", headers=headers).json() == {"detail": "resident not found"}


def test_half_a_coordinate_pair_is_refused(client: TestClient, manager: Any) -> None:
    payload = {k: v for k, v in NEW_RESIDENT.items() if k != "longitude"}
    response = client.post("/api/v1/residents", json=payload, headers=login(client, manager))
    assert response.status_code == 422
    assert "latitude and longitude go together" in response.text


def test_unicode_names_are_kept_as_given(client: TestClient, manager: Any) -> None:
    headers = login(client, manager)
    for name in ("欧阳秀英", "Zoë 👵", "مريم"):
        response = client.post("/api/v1/residents", json=NEW_RESIDENT | {"name": name}, headers=headers)
        assert response.status_code == 201
        assert response.json()["name"] == name


def test_primary_worker_must_be_a_care_worker_of_the_center(client: TestClient, session: Session, manager: Any) -> None:
    outsider = make_staff(session, center=make_center(session))
    response = client.post(
        "/api/v1/residents", json=NEW_RESIDENT | {"primary_worker_id": outsider.id}, headers=login(client, manager)
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "primary_worker_id"]


def test_list_is_paginated_and_searchable(
    client: TestClient, session: Session, center_a: Any, manager: Any, worker: Any
) -> None:
    wang = make_resident(session, center=center_a, name="王秀英", phone="+8613800138000")
    make_resident(session, center=center_a, name="李建国", care_level=CareLevel.dependent, primary_worker_id=worker.id)
    li_2 = make_resident(session, center=center_a, name="李淑珍", status=ResidentStatus.hospitalized)
    make_contact(session, resident=li_2, phone="+8613912345678")
    headers = login(client, manager)

    page = client.get("/api/v1/residents", params={"limit": 2}, headers=headers).json()
    assert page["total"] == 3
    assert len(page["items"]) == 2

    def names(**params: Any) -> list[str]:
        response = client.get("/api/v1/residents", params=params, headers=headers)
        assert response.status_code == 200
        return [r["name"] for r in response.json()["items"]]

    assert names(q="李") == ["李建国", "李淑珍"]
    assert names(q="0013 8000") == [wang.name]  # the resident's own phone
    assert names(q="139 1234") == ["李淑珍"]  # a family contact's phone
    assert names(q="%") == []  # wildcards are searched for literally
    assert names(status="hospitalized") == ["李淑珍"]
    assert names(care_level="dependent") == ["李建国"]
    assert names(worker_id=worker.id) == ["李建国"]


def test_care_workers_see_masked_id_numbers_and_reads_are_audited(
    client: TestClient, session: Session, center_a: Any, worker: Any
) -> None:
    resident = make_resident(session, center=center_a)
    response = client.get(f"/api/v1/residents/{resident.id}", headers=login(client, worker))
    assert response.status_code == 200
    assert response.json()["national_id"] == "110***********008X"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "resident.read")).one()
    assert (event.actor_id, event.entity_id, event.client_addr) == (worker.id, resident.id, "203.0.113.7")


def test_care_workers_write_notes_but_nothing_else(
    client: TestClient, session: Session, center_a: Any, worker: Any
) -> None:
    resident = make_resident(session, center=center_a)
    headers = login(client, worker)
    notes = client.put(f"/api/v1/residents/{resident.id}/notes", json={"notes": "今天精神很好"}, headers=headers)
    assert notes.status_code == 200
    assert notes.json()["notes"] == "今天精神很好"
    patch = client.patch(f"/api/v1/residents/{resident.id}", json={"care_level": "dependent"}, headers=headers)
    assert patch.status_code == 403
    assert patch.json()["detail"] == "You are not allowed to change a resident's record."
    assert client.post("/api/v1/residents", json=NEW_RESIDENT, headers=headers).status_code == 403


def test_manager_updates_and_deletes_a_resident(
    client: TestClient, session: Session, center_a: Any, manager: Any
) -> None:
    resident = make_resident(session, center=center_a)
    make_contact(session, resident=resident)
    resident_id = resident.id
    headers = login(client, manager)
    response = client.patch(
        f"/api/v1/residents/{resident.id}", json={"status": "hospitalized", "phone": "13800138000"}, headers=headers
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["phone"]) == ("hospitalized", "+8613800138000")
    null_name = client.patch(f"/api/v1/residents/{resident.id}", json={"name": None}, headers=headers)
    assert null_name.status_code == 422
    assert null_name.json()["detail"][0]["loc"] == ["body", "name"]
    assert client.delete(f"/api/v1/residents/{resident.id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/residents/{resident.id}", headers=headers).status_code == 404
    session.expire_all()  # the contact went with the resident, by the schema's ON DELETE CASCADE
    assert session.exec(select(FamilyContact).where(FamilyContact.resident_id == resident_id)).all() == []


def test_family_contacts_in_calling_order(client: TestClient, session: Session, center_a: Any, manager: Any) -> None:
    resident = make_resident(session, center=center_a)
    headers = login(client, manager)
    url = f"/api/v1/residents/{resident.id}/contacts"
    second = client.post(
        url,
        json={"name": "李明", "relation": "son", "phone": "139 1234 5678", "priority": 2, "language": "en"},
        headers=headers,
    )
    first = client.post(
        url,
        json={
            "name": "王芳",
            "relation": "daughter",
            "phone": "13912345679",
            "priority": 1,
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:00",
        },
        headers=headers,
    )
    assert second.status_code == first.status_code == 201, second.text
    assert first.json()["quiet_hours_start"] == "22:00:00"  # a window across midnight is fine
    listed = client.get(url, headers=headers).json()
    assert [c["name"] for c in listed] == ["王芳", "李明"]
    assert listed[1]["phone"] == "+8613912345678"

    contact_id = second.json()["id"]
    half = client.patch(f"{url}/{contact_id}", json={"quiet_hours_start": "21:00"}, headers=headers)
    assert half.status_code == 422
    assert "go together" in half.text
    opted_out = client.patch(f"{url}/{contact_id}", json={"sms_opt_in": "opted_out"}, headers=headers)
    assert opted_out.json()["sms_opt_in"] == "opted_out"
    assert client.delete(f"{url}/{contact_id}", headers=headers).status_code == 204
    assert [c["name"] for c in client.get(url, headers=headers).json()] == ["王芳"]


def test_a_contact_needs_a_valid_phone(client: TestClient, session: Session, center_a: Any, manager: Any) -> None:
    resident = make_resident(session, center=center_a)
    response = client.post(
        f"/api/v1/residents/{resident.id}/contacts",
        json={"name": "王芳", "relation": "daughter", "phone": "555"},
        headers=login(client, manager),
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "phone"]


def test_a_contacts_sms_state_is_its_numbers_whoever_changed_it(
    client: TestClient, session: Session, center_a: Any, manager: Any
) -> None:
    """One place: a STOP reply shows on the contact, and the manager's edit is what the outbox obeys."""
    resident = make_resident(session, center=center_a)
    contact = make_contact(session, resident=resident)
    headers = login(client, manager)
    url = f"/api/v1/residents/{resident.id}/contacts"
    set_opted_out(session, phone=contact.phone, opted_out=True, now=datetime.now(UTC))  # the family texted STOP
    session.commit()
    assert client.get(url, headers=headers).json()[0]["sms_opt_in"] == "opted_out"
    assert reachable_family(session, resident.id or 0) == []
    # The family asks the center by phone to hear again; the manager records it.
    back_in = client.patch(f"{url}/{contact.id}", json={"sms_opt_in": "opted_in"}, headers=headers)
    assert back_in.json()["sms_opt_in"] == "opted_in"
    session.expire_all()
    assert opted_out_among(session, [contact.phone]) == set()  # the outbox sends to it again
    assert [c.id for c in reachable_family(session, resident.id or 0)] == [contact.id]
    # A second contact with the same number shares its state: nothing can disagree.
    twin = client.post(url, json={"name": "李四", "relation": "son", "phone": contact.phone}, headers=headers).json()
    assert twin["sms_opt_in"] == "opted_in"
    client.patch(f"{url}/{contact.id}", json={"sms_opt_in": "opted_out"}, headers=headers)
    assert {c["sms_opt_in"] for c in client.get(url, headers=headers).json()} == {"opted_out"}
