from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import make_app, make_settings
from tests.factories import make_center, make_staff


def test_pages_and_api_carry_security_headers(client: TestClient, session: Session) -> None:
    make_staff(session, center=make_center(session))
    for path in ("/login", "/healthz", "/api/v1/residents", "/static/respond.css", "/static/app.css"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        csp = headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
    assert "strict-transport-security" in client.get("/healthz").headers  # PUBLIC_URL is https in tests
    assert "content-security-policy" not in client.get("/docs").headers  # FastAPI's docs use a CDN


def test_no_hsts_without_tls(database_url: str) -> None:
    with TestClient(make_app(make_settings(database_url, public_url="http://127.0.0.1:8000"))) as plain:
        assert "strict-transport-security" not in plain.get("/healthz").headers


def test_oversized_bodies_are_refused_before_they_are_read(client: TestClient, session: Session) -> None:
    """2 MB at most (a full batch of 1,000 readings is ~200 KB): 413, and nothing is parsed."""
    big = b'{"readings": [' + b'{"event_id": "x"},' * 150_000 + b"{}]}"
    assert len(big) > 2_000_000
    response = client.post(
        "/api/v1/checkins/batch", content=big, headers={"Content-Type": "application/json", "X-Device-Key": "dk_x"}
    )
    assert response.status_code == 413
    response = client.post("/api/v1/auth/token", content=b"username=a&password=" + b"x" * 2_100_000)
    assert response.status_code == 413


def test_the_413_is_json_in_the_caller_s_language_with_the_security_headers(client: TestClient) -> None:
    response = client.post(
        "/api/v1/checkins",
        content=b"x" * 2_100_000,
        headers={"Content-Type": "application/json", "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 413
    assert response.headers["x-frame-options"] == "DENY" and "content-security-policy" in response.headers
    assert "最多发送 2000000 字节" in response.json()["detail"]
    # Sent without its length (chunked), the body is found too large as it is read: the same answer.
    chunked = client.post(
        "/api/v1/checkins/batch",
        content=iter([b'{"readings": [' + b'{"event_id": "x"},' * 60_000] * 2 + [b"{}]}"]),
        headers={"Content-Type": "application/json", "Accept-Language": "zh-CN", "X-Device-Key": "dk_x"},
    )
    assert chunked.status_code == 413 and "最多发送 2000000 字节" in chunked.json()["detail"]
    assert chunked.headers["x-frame-options"] == "DENY"


def test_a_trailing_slash_redirects_within_the_site_whatever_the_host_header_says(client: TestClient) -> None:
    response = client.get("/login/?next=/board", headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/login?next=/board"
    assert response.headers["x-frame-options"] == "DENY"


def test_answers_that_name_people_are_not_kept_by_caches(client: TestClient, session: Session) -> None:
    from tests.factories import login, make_resident

    center = make_center(session)
    resident = make_resident(session, center=center)
    headers = login(client, make_staff(session, center=center))
    answer = client.get(f"/api/v1/residents/{resident.id}", headers=headers)
    assert answer.status_code == 200 and "national_id" in answer.json()
    assert answer.headers["cache-control"] == "no-store"


def test_only_the_app_s_own_errors_are_shown_on_a_page(client: TestClient, session: Session) -> None:
    from tests.carecenter.web.test_pages import web_login

    staff = make_staff(session, center=make_center(session))
    web_login(client, staff.username)
    planted = "您的账户已被锁定，请致电 400-000-0000"
    assert planted not in client.get("/", params={"error": planted}).text
    assert planted not in client.get("/", params={"error": planted, "mark": "0" * 20}).text
    from carecenter.web.render import back

    ours = back("/", "请先选择一位居民").headers["location"]
    assert "请先选择一位居民" in client.get(ours).text
