"""An SOS at a center on Aliyun or Tencent Cloud: template SMS and a TTS call through the official
SDKs to the local stand-ins, "press 1" by the provider's own report, receipts, the second provider
when the first is down, and the providers' per-number caps moving the escalation on."""

from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.alerts.models import Alert, AlertEvent
from carecenter.context import app_context
from carecommon.clock import get_now
from notifications.dispatcher import Dispatcher
from notifications.fake_aliyun_api import FakeAliyunApi
from notifications.fake_tencent_api import FakeTencentApi
from notifications.kinds import KINDS
from notifications.models import MessageEvent, ProviderTemplate, SmsMessage
from notifications.provider_webhooks import receipt_urls
from notifications.settings import SmsProvider
from notifications.stand_ins import aliyun_stand_in, approve_all, code, pointed_at, tencent_stand_in
from tests.carecenter.alerts.scenario import Scenario, build
from tests.carecenter.alerts.test_alert_lifecycle import sweep
from tests.carecenter.web.test_pages import web_login
from tests.conftest import PUBLIC_URL, Clock, make_app, make_settings, make_sms_settings
from tests.factories import make_device, make_resident


@pytest.fixture
def aliyun() -> Iterator[FakeAliyunApi]:
    fake = aliyun_stand_in()
    yield fake
    fake.stop()


@pytest.fixture
def tencent() -> Iterator[FakeTencentApi]:
    fake = tencent_stand_in()
    yield fake
    fake.stop()


@pytest.fixture
def domestic_app(
    database_url: str, aliyun: FakeAliyunApi, tencent: FakeTencentApi, clock: Clock
) -> Iterator[tuple[FastAPI, TestClient]]:
    sms = pointed_at(make_sms_settings(), aliyun=aliyun, tencent=tencent)
    app = make_app(make_settings(database_url, sms=sms))
    app.dependency_overrides[get_now] = lambda: clock.now
    with TestClient(app, base_url=PUBLIC_URL) as client:
        urls = receipt_urls(app_context(app).sms)  # what the center registers in each console
        aliyun.sms_report_url, aliyun.voice_report_url = urls["aliyun_sms"], urls["aliyun_voice"]
        tencent.sms_callback_url, tencent.voice_callback_url = urls["tencent_sms"], urls["tencent_voice"]
        yield app, client
    app_context(app).engine.dispose()


def on(session: Session, s: Scenario, provider: str, fallback: str | None = None) -> None:
    first, second = SmsProvider(provider), SmsProvider(fallback) if fallback else None
    s.center.sms_provider, s.center.voice_provider, s.center.fallback_provider = first, first, second
    session.add(s.center)
    session.commit()
    approve_all(session, "aliyun", "tencent")


@pytest.fixture
def s(session: Session, clock: Clock, db: object) -> Scenario:
    return build(session, clock.now)


def dispatch(app: FastAPI, now: datetime) -> None:
    dispatcher: Dispatcher = app_context(app).sms.dispatcher
    dispatcher.forget_templates()
    dispatcher.dispatch_due(now)


def row(session: Session, sid: str) -> SmsMessage:
    session.expire_all()
    return session.exec(select(SmsMessage).where(SmsMessage.provider_sid == sid)).one()


def alert_of(session: Session, alert_id: int) -> Alert:
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None
    return alert


def test_an_sos_at_an_aliyun_center_is_a_template_sms_and_a_tts_call_and_1_takes_charge(
    domestic_app: tuple[FastAPI, TestClient], aliyun: FakeAliyunApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = domestic_app
    on(session, s, "aliyun")
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    dispatch(app, clock.now)

    assert sorted(m.to for m in aliyun.sms) == sorted([s.worker.phone[3:], s.on_duty.phone[3:]])  # 11 digits
    sms = next(m for m in aliyun.sms if m.to == s.on_duty.phone[3:])
    assert sms.template_code == code("aliyun", KINDS["alert.critical"]) and sms.sign_name == aliyun.sign_name
    assert sms.params["who"] == "王秀英" and sms.params["code"] == str(alert_id)
    assert "http" not in sms.params["token"] and len(sms.params["token"]) == 24  # the token, never the URL
    [call] = aliyun.calls
    assert call.to == s.on_duty.phone[3:] and call.tts_code == code("aliyun", KINDS["alert.call"])
    assert call.params["who"] == "王秀英" and call.params["what"] == "SOS call"  # the on-duty worker reads English

    # The message log: the kind, the provider, the template and its parameters; accepted, not yet delivered.
    logged = row(session, sms.biz_id)
    assert (logged.kind, logged.provider, logged.template_code, logged.status) == (
        "alert.critical",
        "aliyun",
        sms.template_code,
        "sent",
    )
    answer = aliyun.report_sms(sms.biz_id, post=client.post)
    assert answer.status_code == 200 and answer.json() == {"code": 0, "msg": "接收成功"}
    assert row(session, sms.biz_id).status == "delivered"
    aliyun.report_sms(sms.biz_id, post=client.post)  # receipts arrive twice: kept once
    receipts = session.exec(select(MessageEvent).where(MessageEvent.message_id == logged.id)).all()
    assert [e.state for e in receipts] == ["delivered"]

    # An IVR call: each key plays its approved confirmation back, 9 the alert again.
    assert call.menu == {
        "1": code("aliyun", KINDS["call.taken"]),
        "2": code("aliyun", KINDS["call.passed"]),
        "5": code("aliyun", KINDS["call.escalated"]),
        "9": call.tts_code,
    }
    report = aliyun.report_call(call.call_id, dtmf="91", post=client.post)  # heard it again, then pressed 1
    assert report.json()["code"] == 0
    assert call.heard == [call.tts_code, code("aliyun", KINDS["call.taken"])]  # "您已接警，请尽快到达…"
    alert = alert_of(session, alert_id)
    assert (alert.status, alert.acknowledged_by, alert.acknowledged_via) == ("acknowledged", s.on_duty.id, "call")
    assert (row(session, call.call_id).status, row(session, call.call_id).digits) == ("delivered", "1")


def test_an_sos_at_a_tencent_center_and_the_keypress_callback(
    domestic_app: tuple[FastAPI, TestClient], tencent: FakeTencentApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = domestic_app
    on(session, s, "tencent")
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    dispatch(app, clock.now)

    assert sorted(m.to for m in tencent.sms) == sorted([s.worker.phone, s.on_duty.phone])  # E.164 with +86
    sms = next(m for m in tencent.sms if m.to == s.on_duty.phone)
    params = dict(zip(KINDS["alert.critical"].params, sms.params, strict=True))  # {1}, {2}, … in the kind's order
    assert params["who"] == "王秀英" and "http" not in params["token"]
    answer = tencent.report_sms(sms.serial_no, post=client.post)
    assert answer.json() == {"result": 0, "errmsg": "OK"}
    assert row(session, sms.serial_no).status == "delivered"

    [call] = tencent.calls
    tencent.press(call.call_id, "1", post=client.post)
    tencent.press(call.call_id, "1", post=client.post)  # twice: one answer
    tencent.end_call(call.call_id, result="0", post=client.post)  # the end of an answered call changes nothing
    alert = alert_of(session, alert_id)
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", s.on_duty.id)
    assert (row(session, call.call_id).status, row(session, call.call_id).digits) == ("delivered", "1")


def test_a_call_nobody_answers_moves_on_at_once(
    domestic_app: tuple[FastAPI, TestClient], tencent: FakeTencentApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = domestic_app
    on(session, s, "tencent")
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    dispatch(app, clock.now)
    [call] = tencent.calls
    tencent.end_call(call.call_id, result="1", post=client.post)  # not answered
    assert row(session, call.call_id).status == "undelivered"
    alert = alert_of(session, alert_id)
    assert alert.next_escalation_at is not None and alert.next_escalation_at <= clock.now


def test_the_primary_is_down_criticals_go_through_the_secondary_at_once_and_never_twice(
    domestic_app: tuple[FastAPI, TestClient],
    aliyun: FakeAliyunApi,
    tencent: FakeTencentApi,
    s: Scenario,
    session: Session,
    clock: Clock,
) -> None:
    app, client = domestic_app
    on(session, s, "aliyun", fallback="tencent")
    aliyun.down = True
    s.post(client, clock.now, "sos")
    dispatch(app, clock.now)  # one pass: the failure on Aliyun and the send through Tencent

    assert aliyun.sms == [] and aliyun.calls == []
    assert sorted(m.to for m in tencent.sms) == sorted([s.worker.phone, s.on_duty.phone])
    assert [c.to for c in tencent.calls] == [s.on_duty.phone]
    rows = session.exec(select(SmsMessage).order_by(col(SmsMessage.id))).all()
    assert {(r.provider, r.status, r.fallback_provider) for r in rows} == {("tencent", "sent", None)}
    story = session.exec(select(MessageEvent).where(MessageEvent.message_id == rows[0].id)).all()
    assert [(e.state, e.provider) for e in story] == [("switched", "aliyun")]
    assert "ServiceUnavailable" in story[0].detail and "tencent" in story[0].detail

    aliyun.down = False  # Aliyun is back: nothing goes out a second time
    dispatch(app, clock.advance(minutes=1))
    assert aliyun.sms == [] and len(tencent.sms) == 2


def test_a_number_at_its_provider_cap_is_not_redialled_the_escalation_moves_on(
    domestic_app: tuple[FastAPI, TestClient], aliyun: FakeAliyunApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = domestic_app
    on(session, s, "aliyun")
    s.post(client, clock.now, "sos")
    dispatch(app, clock.now)
    assert [c.to for c in aliyun.calls] == [s.on_duty.phone[3:]]
    # A second resident's SOS within the minute: Aliyun allows one call a minute to a number.
    other = make_resident(session, center=s.center, name="李桂兰", primary_worker_id=s.worker.id)
    _watch, key = make_device(session, center=s.center, resident=other)
    second = client.post(
        "/api/v1/checkins",
        json={"event_id": "sos-2", "kind": "sos", "recorded_at": clock.now.isoformat()},
        headers={"X-Device-Key": key},
    ).json()["alert_id"]
    dispatch(app, clock.advance(seconds=20))
    assert len(aliyun.calls) == 1 and aliyun.refused == []  # not asked: it would refuse, and the refusal counts
    call = session.exec(select(SmsMessage).where(SmsMessage.alert_id == second, SmsMessage.channel == "voice")).one()
    assert (call.status, call.hold_reason) == ("failed", "throttled")
    assert "1 call a minute" in (call.error_message or "")
    alert = alert_of(session, second)
    assert alert.next_escalation_at is not None and alert.next_escalation_at <= clock.now  # the next step, now
    kinds = session.exec(select(AlertEvent.kind).where(AlertEvent.alert_id == second)).all()
    assert "not_reached" in kinds
    web_login(client, s.manager.username)  # the board and the message log say so
    board = client.get("/board/rows").text
    assert board.count('class="risk throttled"') == 1
    log = client.get("/messages").text
    assert 'class="risk throttled"' in log and "1 call a minute" in log
    sweep(app, clock.now)  # the next step pages at once, rather than waiting on the throttled phone
    later = session.exec(
        select(SmsMessage.dedupe_key).where(SmsMessage.alert_id == second, col(SmsMessage.dedupe_key).contains(":s2:"))
    ).all()
    assert later, "the second step ran at once"


def test_receipts_need_the_key_and_survive_garbage(
    domestic_app: tuple[FastAPI, TestClient], s: Scenario, session: Session
) -> None:
    app, client = domestic_app
    urls = receipt_urls(app_context(app).sms)
    path = urls["aliyun_sms"].removeprefix(PUBLIC_URL)
    assert client.post(path.split("?")[0], json=[]).status_code == 403
    assert client.post(path.split("?")[0] + "?key=wrong", json=[]).status_code == 403
    reports: list[object] = [{"a": 1}, [1, "x", None], [{"biz_id": "nope", "success": True}], [{"biz_id": ["x"]}]]
    for report in reports:
        answer = client.post(path, json=report)
        assert answer.status_code == 200 and answer.json()["code"] == 0
    assert client.post(path, content=b"not json", headers={"Content-Type": "application/json"}).status_code == 200
    voice = urls["tencent_voice"].removeprefix(PUBLIC_URL)
    pushes: list[object] = [[], {"voicekey_callback": "x"}, {"voicekey_callback": {"callid": 5, "keypress": None}}]
    for garbage in pushes:
        assert client.post(voice, json=garbage).json() == {"result": 0, "errmsg": "OK"}


def test_an_aliyun_call_without_approved_confirmations_is_a_plain_tts_call_whose_key_still_counts(
    domestic_app: tuple[FastAPI, TestClient], aliyun: FakeAliyunApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = domestic_app
    on(session, s, "aliyun")
    template = session.exec(
        select(ProviderTemplate).where(ProviderTemplate.provider == "aliyun", ProviderTemplate.kind == "call.passed")
    ).one()
    session.delete(template)  # not approved yet: no menu rather than a menu missing a key
    session.commit()
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    dispatch(app, clock.now)

    [call] = aliyun.calls
    assert call.menu == {} and call.tts_code == code("aliyun", KINDS["alert.call"])
    aliyun.report_call(call.call_id, dtmf="1", post=client.post)
    assert call.heard == []
    assert alert_of(session, alert_id).acknowledged_via == "call"
