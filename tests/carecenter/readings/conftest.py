"""What the tests of the plain check-in route share."""

from typing import Any

import pytest
from fastapi import FastAPI

from carecenter.api.checkin_route import PlainCheckinRoute


@pytest.fixture
def plain(app: FastAPI) -> PlainCheckinRoute:
    route = app.router.routes[0]
    assert isinstance(route, PlainCheckinRoute)  # first, so that no other route is tried before it
    return route


@pytest.fixture
def handed_over(plain: PlainCheckinRoute, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requests the plain route handed to the documented one (by the test's label)."""
    labels: list[str] = []
    documented = plain._documented

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        labels.append(dict(scope["headers"]).get(b"x-case", b"").decode())
        await documented(scope, receive, send)

    monkeypatch.setattr(plain, "_documented", counting)
    return labels
