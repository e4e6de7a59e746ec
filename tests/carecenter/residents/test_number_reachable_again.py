"""A number the SMS provider found unusable can be confirmed as working again, and is paged again."""

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from carecenter.audit.models import AuditEvent
from carecenter.messaging.recipients import reachable_family
from notifications.models import SmsRecipient
from tests.carecenter.alerts.scenario import build
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import login


def test_a_manager_confirms_the_number_works_again(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    session.add(SmsRecipient(phone=s.daughter.phone, unreachable_at=clock.now, unreachable_code=30003))
    session.commit()
    assert [c.id for c in reachable_family(session, s.resident.id or 0)] == [s.son.id]
    csrf = web_login(client, s.manager.username)
    page = client.get(f"/residents/{s.resident.id}").text
    assert f'id="unreachable-{s.daughter.id}"' in page and "号码仍然可用" in page
    done = client.post(f"/manage/residents/{s.resident.id}/contacts/{s.daughter.id}/reachable", data={"csrf": csrf})
    assert done.status_code == 200 and f'id="unreachable-{s.daughter.id}"' not in done.text
    session.expire_all()
    assert [c.id for c in reachable_family(session, s.resident.id or 0)] == [s.daughter.id, s.son.id]
    assert session.exec(select(AuditEvent.action).where(AuditEvent.action == "contact.reachable")).all()
    # The API does the same; a care worker may not.
    url = f"/api/v1/residents/{s.resident.id}/contacts/{s.son.id}/reachable"
    assert client.post(url, headers=login(client, s.worker)).status_code == 403
    answer = client.post(url, headers=login(client, s.manager))
    assert answer.status_code == 200 and answer.json()["unreachable_at"] is None
