"""The alert tier asks the visits tier who works nearby through a finder registered at composition."""

import logging
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from carecenter.alerts import responders
from carecenter.visits.nearby import nearest_worker
from tests.conftest import make_app, make_settings


def test_every_app_joins_the_alert_tier_to_the_visits_tier(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setattr(responders, "_finder", [])
    make_app(make_settings(database_url))
    assert responders._finder == [nearest_worker]


def test_without_a_finder_an_alert_goes_on_by_its_steps_and_the_log_says_why(
    monkeypatch: pytest.MonkeyPatch, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(responders, "_finder", [])
    with caplog.at_level(logging.ERROR, logger="carecenter.alerts.responders"):
        found = responders.nearest_worker(
            session, center_id=1, home=(39.9, 116.4), now=datetime.now(UTC), within_m=1000
        )
    assert found is None
    assert "no nearest-worker finder" in caplog.text
