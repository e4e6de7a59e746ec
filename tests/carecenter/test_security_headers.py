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
