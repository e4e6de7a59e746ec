"""WeChat for families, end to end against the local stand-in of WeChat's API and its signed events:
binding by QR code and confirmation, alerts as template messages with the SMS held back and sent
when WeChat does not deliver, unbinding from WeChat and from the resident page, all audited."""

import re
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.audit.models import AuditEvent
from carecenter.context import app_context
from carecenter.residents.models import FamilyContact
from carecenter.residents.sharing import WeChatBinding
from carecommon.clock import get_now
from notifications.dispatcher import Dispatcher
from notifications.fake_wechat_api import FakeWeChatApi, wechat_signature
from notifications.models import SmsMessage
from notifications.stand_ins import approve_all, pointed_at, wechat_stand_in
from tests.carecenter.alerts.scenario import Scenario, build
from tests.carecenter.alerts.test_alert_lifecycle import sweep
from tests.carecenter.web.test_pages import web_login
from tests.conftest import PUBLIC_URL, Clock, make_app, make_settings, make_sms_settings
from tests.fakes import FakeSender

OPENID = "oWx2k5FakeFamilyOpenId00001"


@pytest.fixture
def fake() -> Iterator[FakeWeChatApi]:
    api = wechat_stand_in()
    yield api
    api.stop()


@pytest.fixture
def wechat_app(database_url: str, fake: FakeWeChatApi, clock: Clock) -> Iterator[tuple[FastAPI, TestClient]]:
    app = make_app(make_settings(database_url, sms=pointed_at(make_sms_settings(), wechat=fake)))
    app.dependency_overrides[get_now] = lambda: clock.now
    with TestClient(app, base_url=PUBLIC_URL) as client:
        fake.server_url = f"{PUBLIC_URL}/webhooks/wechat"
        yield app, client
    app_context(app).engine.dispose()


@pytest.fixture
def s(session: Session, clock: Clock, db: object) -> Scenario:
    scenario = build(session, clock.now)
    approve_all(session, "wechat")
    return scenario


def dispatch(app: FastAPI, now: datetime) -> None:
    dispatcher: Dispatcher = app_context(app).sms.dispatcher
    dispatcher.forget_templates()
    dispatcher.dispatch_due(now)


def contact(session: Session, contact_id: int | None) -> FamilyContact:
    session.expire_all()
    found = session.get(FamilyContact, contact_id)
    assert found is not None
    return found


def bind(client: TestClient, fake: FakeWeChatApi, s: Scenario, openid: str = OPENID) -> str:
    """The manager prints the daughter's code, she scans it and confirms: the confirmation page's path."""
    web_login(client, s.manager.username)
    page = client.get(f"/manage/residents/{s.resident.id}/contacts/{s.daughter.id}/wechat-code")
    assert page.status_code == 200 and "<svg" in page.text
    ticket = list(fake.codes)[-1]  # the code just made
    reply = fake.scan(openid, ticket, post=client.post)
    assert reply.status_code == 200 and "<MsgType><![CDATA[text]]></MsgType>" in reply.text
    match = re.search(r"(/w/[A-Za-z0-9_-]+)", reply.text)
    assert match, reply.text
    client.cookies.clear()  # the family member's phone: no staff session
    return match[1]


def test_a_family_member_binds_wechat_by_scanning_and_confirming(
    wechat_app: tuple[FastAPI, TestClient], fake: FakeWeChatApi, s: Scenario, session: Session
) -> None:
    _app, client = wechat_app
    confirm = bind(client, fake, s)
    assert contact(session, s.daughter.id).wechat_openid is None  # a scan alone binds nobody
    page = client.get(confirm, headers={"User-Agent": "Mozilla/5.0 MicroMessenger/8.0.47"})
    assert page.status_code == 200 and "王秀英" in page.text and 'id="confirm"' in page.text
    done = client.post(confirm)
    assert done.status_code == 200 and 'id="done"' in done.text
    bound = contact(session, s.daughter.id)
    assert bound.wechat_openid == OPENID and bound.wechat_bound_at is not None
    assert client.post(confirm).status_code == 410  # used
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity_id == s.daughter.id)).all()
    assert {"family_contact.wechat_code", "family_contact.wechat_bind"} <= set(actions)
    assert client.post(confirm, headers={"Origin": "https://evil.example"}).status_code == 403


def test_wechat_events_must_be_signed_and_fresh(wechat_app: tuple[FastAPI, TestClient], fake: FakeWeChatApi) -> None:
    _app, client = wechat_app
    xml = b"<xml><FromUserName>o1</FromUserName><MsgType>text</MsgType><Content>x</Content></xml>"
    assert client.post("/webhooks/wechat?signature=0&timestamp=1&nonce=2", content=xml).status_code == 403
    stale = "1700000000"
    signature = wechat_signature(fake.token, stale, "n")
    assert (
        client.post(f"/webhooks/wechat?signature={signature}&timestamp={stale}&nonce=n", content=xml).status_code == 403
    )
    now = str(int(time.time()))
    check = client.get(
        f"/webhooks/wechat?signature={wechat_signature(fake.token, now, 'n')}&timestamp={now}&nonce=n&echostr=abc"
    )
    assert check.status_code == 200 and check.text == "abc"  # the console's check of the server URL


def test_a_code_we_did_not_make_binds_nobody(
    wechat_app: tuple[FastAPI, TestClient], fake: FakeWeChatApi, s: Scenario, session: Session
) -> None:
    _app, client = wechat_app
    fake.codes["forged"] = f"bind:{'A' * 24}"
    reply = fake.scan(OPENID, "forged", post=client.post)
    assert "此码已失效" in reply.text  # in the default language: we know nothing of who scanned
    assert session.exec(select(WeChatBinding)).all() == []


def test_an_alert_goes_to_wechat_and_the_sms_follows_when_wechat_does_not_deliver(
    wechat_app: tuple[FastAPI, TestClient], fake: FakeWeChatApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = wechat_app
    client.post(bind(client, fake, s))
    s.post(client, clock.now, "sos")
    dispatch(app, clock.now)
    sweep(app, clock.advance(minutes=5))  # the second step pages the daughter
    dispatch(app, clock.now)
    [message] = fake.messages
    assert message.openid == OPENID and message.data["thing1"] == "王秀英" and message.url
    assert message.url.startswith(f"{PUBLIC_URL}/r/")  # opens the response page
    sender = app_context(app).sms.dispatcher.sender
    assert isinstance(sender, FakeSender)
    daughter_sms = select(SmsMessage).where(SmsMessage.to_phone == s.daughter.phone, SmsMessage.channel == "sms")
    held = session.exec(daughter_sms).one()
    assert (held.status, held.hold_reason) == ("queued", "wechat_first")  # never WeChat alone for an alert
    assert s.daughter.phone not in [m.to for m in sender.sent]

    answer = fake.finish(message.msgid, "failed:user block", post=client.post)
    assert answer.status_code == 200
    fake.finish(message.msgid, "failed:user block", post=client.post)  # twice: once
    dispatch(app, clock.now)  # no grace left: the SMS goes at once
    assert [m.to for m in sender.sent].count(s.daughter.phone) == 1


def test_a_delivered_wechat_message_spares_the_sms_and_silence_does_not(
    wechat_app: tuple[FastAPI, TestClient], fake: FakeWeChatApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = wechat_app
    client.post(bind(client, fake, s))
    s.post(client, clock.now, "sos")
    sweep(app, clock.advance(minutes=5))
    dispatch(app, clock.now)
    fake.finish(fake.messages[0].msgid, "success", post=client.post)
    session.expire_all()
    sms = session.exec(
        select(SmsMessage).where(SmsMessage.to_phone == s.daughter.phone, SmsMessage.channel == "sms")
    ).one()
    assert (sms.status, sms.hold_reason) == ("suppressed", "wechat_delivered")
    wechat = session.exec(select(SmsMessage).where(SmsMessage.channel == "wechat")).one()
    assert wechat.status == "delivered"

    # The next alert: WeChat says nothing at all; the SMS goes once the grace has passed.
    s.post(client, clock.advance(minutes=30), "sos", event_id="sos-2")
    sweep(app, clock.advance(minutes=5))
    dispatch(app, clock.now)
    sender = app_context(app).sms.dispatcher.sender
    assert isinstance(sender, FakeSender)
    before = [m.to for m in sender.sent].count(s.daughter.phone)
    dispatch(app, clock.advance(seconds=61))
    assert [m.to for m in sender.sent].count(s.daughter.phone) == before + 1


def test_a_family_member_who_no_longer_follows_gets_the_sms_at_once(
    wechat_app: tuple[FastAPI, TestClient], fake: FakeWeChatApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = wechat_app
    client.post(bind(client, fake, s))
    fake.followers.discard(OPENID)  # unfollowed, and the event was lost
    s.post(client, clock.now, "sos")
    sweep(app, clock.advance(minutes=5))
    dispatch(app, clock.now)
    assert fake.messages == [] and 43004 in fake.refused
    sender = app_context(app).sms.dispatcher.sender
    assert isinstance(sender, FakeSender)
    assert s.daughter.phone in [m.to for m in sender.sent]


def test_unbinding_from_wechat_and_from_the_resident_page(
    wechat_app: tuple[FastAPI, TestClient], fake: FakeWeChatApi, s: Scenario, session: Session
) -> None:
    _app, client = wechat_app
    client.post(bind(client, fake, s))
    reply = fake.say(OPENID, "解绑", post=client.post)
    assert "此微信将不再收到中心的消息" in reply.text  # in the daughter's language
    assert contact(session, s.daughter.id).wechat_openid is None

    client.post(bind(client, fake, s, openid="oOther"))
    fake.unfollow("oOther", post=client.post)
    assert contact(session, s.daughter.id).wechat_openid is None

    client.post(bind(client, fake, s, openid="oThird"))
    csrf = web_login(client, s.manager.username)
    resident_page = client.get(f"/residents/{s.resident.id}")
    assert "wechat-unbind" in resident_page.text
    gone = client.post(
        f"/manage/residents/{s.resident.id}/contacts/{s.daughter.id}/wechat-unbind",
        data={"csrf": csrf},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert contact(session, s.daughter.id).wechat_openid is None
    unbinds = session.exec(
        select(AuditEvent).where(AuditEvent.action == "family_contact.wechat_unbind").order_by(col(AuditEvent.id))
    ).all()
    assert [e.actor_username for e in unbinds] == [
        f"family:contact:{s.daughter.id}",
        f"family:contact:{s.daughter.id}",
        s.manager.username,
    ]
