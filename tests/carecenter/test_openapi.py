from fastapi.testclient import TestClient


def test_every_operation_is_described(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if not operation.get("description", "").strip()
    ]
    assert undocumented == []
    assert client.get("/docs").status_code == 200
