"""Families can look: the family page's link, its scope, expiry, revocation, consent and audit."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.audit.models import AuditEvent
from carecenter.family.queries import given_name
from carecenter.residents.models import Resident
from carecenter.residents.sharing import FamilyLink
from notifications.models import SmsMessage
from tests.carecenter.alerts.scenario import Scenario, build
from tests.carecenter.web.test_pages import web_login
from tests.conftest import PUBLIC_URL, Clock
from tests.factories import login, make_alert, make_resident, make_staff, make_visit


def consenting(session: Session, clock: Clock) -> Scenario:
    s = build(session, clock.now)
    s.resident.consent_family_sharing = True
    session.add(s.resident)
    session.commit()
    return s


def share(client: TestClient, s: Scenario) -> int:
    """Share the page with the daughter through the API (her SMS carries the link)."""
    url = f"/api/v1/residents/{s.resident.id}/contacts/{s.daughter.id}/family-link"
    return int(client.post(url, headers=login(client, s.manager)).status_code)


def family_path(session: Session, phone: str) -> str:
    body = session.exec(
        select(SmsMessage.body).where(SmsMessage.to_phone == phone).order_by(col(SmsMessage.id).desc())
    ).first()
    assert body is not None and f"{PUBLIC_URL}/f/" in body
    return "/f/" + body.split("/f/")[1].split()[0]


def test_a_shared_family_page_shows_one_residents_care_and_every_view_is_audited(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = consenting(session, clock)
    worker = make_staff(session, center=s.center, name="王晓燕")
    make_visit(
        session,
        resident=s.resident,
        start=clock.now - timedelta(days=2),
        worker_id=worker.id,
        status="completed",
        notes="精神很好，吃了午饭",
        share_notes_with_family=True,
    )
    make_visit(
        session,
        resident=s.resident,
        start=clock.now - timedelta(days=1),
        worker_id=worker.id,
        status="completed",
        notes="血压偏高，已告知医生",  # not shared
    )
    make_visit(session, resident=s.resident, start=clock.now + timedelta(days=1), worker_id=worker.id)
    make_alert(
        session,
        resident=s.resident,
        kind="fall",
        status="resolved",
        outcome="handled_at_home",
        opened_at=clock.now - timedelta(days=3),
    )
    other = make_resident(session, center=s.center, name="李桂兰")
    make_visit(session, resident=other, start=clock.now + timedelta(days=1), worker_id=worker.id, notes="别人的")

    assert share(client, s) == 201
    path = family_path(session, s.daughter.phone)
    page = client.get(path, headers={"X-Forwarded-For": "198.51.100.9"}).text
    assert "王秀英" in page and "晓燕" in page and "王晓燕" not in page  # the worker's given name only
    assert "精神很好，吃了午饭" in page and "血压偏高" not in page  # only what the worker shared
    assert "李桂兰" not in page and "别人的" not in page  # one resident only
    assert "疑似跌倒" in page and "已在家中处置" in page  # the alert and its outcome
    views = session.exec(select(AuditEvent).where(AuditEvent.action == "family_page.view")).all()
    assert [(v.actor_username, v.entity_id) for v in views] == [(f"family:contact:{s.daughter.id}", s.resident.id)]


def test_the_page_expires_unless_renewed_and_the_manager_can_revoke_it(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = consenting(session, clock)
    share(client, s)
    path = family_path(session, s.daughter.phone)
    clock.advance(days=89)
    assert share(client, s) == 201  # renewed: the same link, 90 more days
    assert family_path(session, s.daughter.phone) == path
    clock.advance(days=60)
    assert client.get(path).status_code == 200
    headers = login(client, s.manager)
    url = f"/api/v1/residents/{s.resident.id}/contacts/{s.daughter.id}/family-link"
    assert client.delete(url, headers=headers).status_code == 204
    gone = client.get(path)
    assert gone.status_code == 410 and "此页面已不可用" in gone.text
    assert client.get(url, headers=headers).json() is None
    actions = session.exec(select(AuditEvent.action).where(col(AuditEvent.action).like("family_link.%"))).all()
    assert actions == ["family_link.create", "family_link.renew", "family_link.revoke"]
    # A link that is simply old stops too.
    share(client, s)
    fresh = family_path(session, s.daughter.phone)
    clock.advance(days=91)
    assert client.get(fresh).status_code == 410


def test_no_consent_no_page(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    assert share(client, s) == 409  # the resident has not consented
    s.resident.consent_family_sharing = True
    session.add(s.resident)
    session.commit()
    share(client, s)
    path = family_path(session, s.daughter.phone)
    resident = session.get(Resident, s.resident.id)
    assert resident is not None
    resident.consent_family_sharing = False  # consent withdrawn
    session.add(resident)
    session.commit()
    refused = client.get(path)
    assert refused.status_code == 403 and "王秀英" not in refused.text


def test_forged_tokens_and_response_link_tokens_do_not_open_it(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = consenting(session, clock)
    share(client, s)
    path = family_path(session, s.daughter.phone)
    link = session.exec(select(FamilyLink)).one()
    from notifications.links import sign_link_id
    from tests.conftest import TEST_SECRET

    as_response_link = sign_link_id(link.id or 0, TEST_SECRET.encode())  # the same id, the other kind of link
    assert client.get(f"/f/{as_response_link}").status_code == 404
    assert client.get(f"/r/{path.removeprefix('/f/')}").status_code == 404
    assert client.get("/f/AAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404


def test_managers_share_and_revoke_from_the_resident_page(client: TestClient, session: Session, clock: Clock) -> None:
    s = consenting(session, clock)
    csrf = web_login(client, s.manager.username)
    page = client.get(f"/residents/{s.resident.id}").text
    assert "开通家属页面" in page
    shared = client.post(
        f"/manage/residents/{s.resident.id}/contacts/{s.son.id}/family-link", data={"csrf": csrf, "share": "1"}
    )
    assert shared.status_code == 200 and "撤销家属页面" in shared.text
    assert session.exec(select(FamilyLink.contact_id)).all() == [s.son.id]
    client.post(f"/manage/residents/{s.resident.id}/contacts/{s.son.id}/family-link", data={"csrf": csrf, "share": "0"})
    session.expire_all()
    assert session.exec(select(FamilyLink.revoked_at)).one() is not None


def test_given_names() -> None:
    assert [given_name(n) for n in ("王晓燕", "欧阳", "Wang Xiaoyan", "")] == ["晓燕", "阳", "Xiaoyan", ""]


def test_a_family_link_dies_with_a_new_number_or_withdrawn_consent_and_never_comes_back(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = consenting(session, clock)
    manager = login(client, s.manager)
    assert share(client, s) in (200, 201)
    first = family_path(session, s.daughter.phone)
    assert client.get(first).status_code == 200
    contact = f"/api/v1/residents/{s.resident.id}/contacts/{s.daughter.id}"
    assert client.patch(contact, json={"phone": "13900009999"}, headers=manager).status_code == 200
    assert client.get(first).status_code != 200  # the number went to someone else
    assert share(client, s) in (200, 201)
    second = family_path(session, "+8613900009999")
    assert client.get(second).status_code == 200
    resident = f"/api/v1/residents/{s.resident.id}"
    assert client.patch(resident, json={"consent_family_sharing": False}, headers=manager).status_code == 200
    assert client.patch(resident, json={"consent_family_sharing": True}, headers=manager).status_code == 200
    assert client.get(second).status_code != 200  # a new consent does not bring the old link back


def test_deleting_a_contact_with_a_family_link_and_a_resident_with_records(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = consenting(session, clock)
    manager = login(client, s.manager) | {"Accept-Language": "zh-CN"}
    assert share(client, s) in (200, 201)
    daughter, resident_id = s.daughter.id, s.resident.id
    gone = client.delete(f"/api/v1/residents/{resident_id}/contacts/{daughter}", headers=manager)
    assert gone.status_code == 204  # with her family links; she is messaged no more
    session.expire_all()
    assert session.exec(select(FamilyLink).where(FamilyLink.contact_id == daughter)).all() == []
    resident = session.get(Resident, resident_id)
    assert resident is not None
    make_alert(session, resident=resident)
    kept = client.delete(f"/api/v1/residents/{resident_id}", headers=manager)
    assert kept.status_code == 409 and "已迁出" in kept.json()["detail"]  # what to do instead, not a key error
    mistake = make_resident(session, center=s.center)
    assert client.delete(f"/api/v1/residents/{mistake.id}", headers=manager).status_code == 204
