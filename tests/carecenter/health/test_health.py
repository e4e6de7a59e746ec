from fastapi.testclient import TestClient

from tests.conftest import make_app, make_settings


def test_healthz_and_readyz_on_a_migrated_database(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_readyz_is_503_until_the_schema_is_migrated(tmp_sqlite_url: str) -> None:
    with TestClient(make_app(make_settings(tmp_sqlite_url))) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "python main.py migrate" in response.json()["detail"]


def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    with TestClient(make_app(make_settings("sqlite:////nonexistent-dir/for/sure/x.db"))) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["detail"] == "database unreachable"
        assert client.get("/healthz").status_code == 200
