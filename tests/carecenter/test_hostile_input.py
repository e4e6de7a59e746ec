"""Hostile and unusual input: clear 4xx answers (never a 500), names in any script kept as
typed, markup and SQL shown as text on every page that shows them, no path out of /static."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from carecenter.residents.models import Resident
from tests.carecenter.alerts.scenario import build
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import login, make_center, make_staff, make_visit

NAMES = [
    "王秀英",  # Chinese
    "奶奶👵🏻",  # emoji with a skin-tone modifier
    "مريم الحسن",  # right-to-left
    "Zoë Ångström",  # accents
    "e\u0301lodie",  # a combining accent (stored as NFC: élodie)
    "李\u200b四",  # a zero-width space
    "𠮷野家",  # outside the Basic Multilingual Plane
]
HOSTILE = {
    "name": "<script>alert('name')</script>",
    "address": "'; DROP TABLE resident; --",
    "allergies": '<img src=x onerror="alert(1)">',
    "conditions": "</textarea><script>alert('form')</script>",  # shown in the edit form
}
RESIDENT = {"gender": "female", "birth_date": "1940-03-08"}


@pytest.fixture
def manager_headers(client: TestClient, session: Session) -> dict[str, str]:
    from carecenter.access import Role

    return login(client, make_staff(session, center=make_center(session), role=Role.manager))


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"name": "x", ', "application/json"),  # cut off
        (b"\xff\xfe\x00", "application/json"),  # not UTF-8
        (b"[1, 2, 3]", "application/json"),  # a list where an object is expected
        (b"null", "application/json"),
        (b"name=x", "application/x-www-form-urlencoded"),  # the wrong content type
        (b'{"name": "x", "name": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json"),  # nested deep
    ],
)
def test_malformed_bodies_are_a_4xx_not_a_500(
    client: TestClient, manager_headers: dict[str, str], content: bytes, content_type: str
) -> None:
    response = client.post(
        "/api/v1/residents", content=content, headers=manager_headers | {"Content-Type": content_type}
    )
    assert response.status_code in (400, 422), response.text  # 400: not JSON at all
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", 12345),
        ("name", ""),
        ("name", "   "),
        ("name", "a\x00b"),
        ("name", "x" * 65),
        ("birth_date", "yesterday"),
        ("birth_date", "1940-02-30"),
        ("gender", "other-than-listed"),
        ("latitude", "north"),
        ("latitude", 91),
        ("wander_risk", "maybe"),
        ("alert_thresholds", {"heart_rate_high": "fast"}),
    ],
)
def test_wrong_values_are_a_422_naming_the_field(
    client: TestClient, manager_headers: dict[str, str], field: str, value: Any
) -> None:
    body = {"name": "张三"} | RESIDENT | {field: value}
    response = client.post("/api/v1/residents", json=body, headers=manager_headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]


def test_names_in_any_script_are_kept_as_typed(
    client: TestClient, session: Session, manager_headers: dict[str, str]
) -> None:
    for name in NAMES:
        response = client.post("/api/v1/residents", json={"name": name} | RESIDENT, headers=manager_headers)
        assert response.status_code == 201, (name, response.text)
        stored = client.get(f"/api/v1/residents/{response.json()['id']}", headers=manager_headers).json()["name"]
        assert stored == name.replace("e\u0301", "é")
        found = client.get("/api/v1/residents", params={"q": name[:2]}, headers=manager_headers).json()["items"]
        assert any(r["name"] == stored for r in found), name


def test_markup_and_sql_are_shown_as_text_everywhere(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    for field, value in HOSTILE.items():
        setattr(s.resident, field, value)
    s.daughter.name = "<i>女儿</i>"
    s.worker.name = "<u>护理员</u>"
    session.add_all([s.resident, s.daughter, s.worker])
    session.commit()
    visit = make_visit(session, resident=s.resident, start=clock.now + timedelta(minutes=30), worker_id=s.worker.id)
    s.post(client, clock.now, "sos", event_id="hostile-sos")
    pages = []
    web_login(client, s.worker.username)
    pages += [client.get(path).text for path in ("/", f"/visits/{visit.id}", f"/residents/{s.resident.id}", "/alerts")]
    client.post("/logout", data={})
    client.cookies.clear()
    web_login(client, s.manager.username)
    manager_pages = ("/board/rows", "/schedule", "/manage/residents", "/manage/staff")
    pages += [client.get(path).text for path in (*manager_pages, f"/manage/residents/{s.resident.id}/edit")]
    for page in pages:
        for raw in (*HOSTILE.values(), "<i>女儿</i>", "<u>护理员</u>"):
            if "<" in raw:
                assert raw not in page
    joined = "\n".join(pages)
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in joined
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in joined
    assert "&lt;/textarea&gt;&lt;script&gt;" in joined
    assert "&#39;; DROP TABLE resident; --" in joined
    assert session.exec(select(func.count()).select_from(Resident)).one() >= 1  # the table is still there


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../pyproject.toml",
        "/static/..%2f..%2fpyproject.toml",
        "/static/%2e%2e/%2e%2e/carecenter/settings.py",
        "/static/....//....//pyproject.toml",
        "/static/%252e%252e/pyproject.toml",
        "/static//etc/passwd",
        "/r/..%2f..%2fetc%2fpasswd",
        "/r/-/..%2fstyle.css",
    ],
)
def test_no_path_leads_out_of_the_static_files(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (400, 404), (path, response.status_code)
    assert "[project]" not in response.text and "root:" not in response.text and "SecretStr" not in response.text


def test_ids_no_column_can_hold_and_missing_records_are_4xx_for_everyone(
    client: TestClient, session: Session, manager_headers: dict[str, str]
) -> None:
    from carecenter.access import Role

    admin = login(client, make_staff(session, center=None, role=Role.admin))
    for headers in (manager_headers, admin):
        assert client.get(f"/api/v1/residents/{2**70}", headers=headers).status_code == 422
        assert client.get("/api/v1/visits", params={"worker_id": 2**64}, headers=headers).status_code == 422
        for path in ("/api/v1/residents/999999", "/api/v1/alerts/999999", "/api/v1/visits/999999"):
            assert client.get(path, headers=headers).status_code == 404, path
