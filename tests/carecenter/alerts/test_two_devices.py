"""Two devices of one resident reporting the same event (a watch and a gateway's fall radar): one
alert, both readings on its timeline, one set of messages."""

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from carecenter.alerts.models import Alert, AlertEvent
from notifications.models import SmsMessage
from tests.carecenter.alerts.scenario import build
from tests.conftest import Clock
from tests.factories import make_device


def test_two_devices_one_event_one_alert_both_on_its_timeline(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    radar, radar_key = make_device(session, center=s.center, resident=s.resident, serial="RADAR-0001")
    watch = s.post(client, clock.now, "fall", event_id="watch-fall")
    again = client.post(
        "/api/v1/checkins",
        json={"event_id": "radar-fall", "kind": "fall", "recorded_at": clock.now.isoformat()},
        headers={"X-Device-Key": radar_key},
    )
    assert watch.json()["alert_id"] == again.json()["alert_id"]
    [alert] = session.exec(select(Alert).where(Alert.kind == "fall")).all()
    assert alert.trigger_count == 2
    timeline = session.exec(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).all()
    assert [e.detail for e in timeline if e.kind == "joined"] == ["RADAR-0001: fall"]
    keys = session.exec(select(SmsMessage.dedupe_key).where(SmsMessage.alert_id == alert.id)).all()
    assert len(keys) == len(set(keys))  # nobody paged twice
    assert radar.id is not None
