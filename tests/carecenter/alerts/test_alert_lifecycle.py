"""From a device's post to the right people paged, step by step, until someone answers."""

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select, update

from carecenter.alerts import service
from carecenter.alerts.models import Alert, AlertEvent, AlertStatus, EscalationPolicyData, EscalationStep
from carecenter.context import app_context
from carecenter.db import make_engine
from carecenter.devices.models import Device
from carecenter.messaging.recipients import Recipients
from notifications.dispatcher import Dispatcher
from notifications.links import verify_link_token
from notifications.models import ResponseLink, SmsMessage, SmsRecipient
from notifications.senders import SendError
from notifications.twilio_errors import Verdict
from tests.carecenter.alerts.scenario import Scenario, build
from tests.conftest import PUBLIC_URL, TEST_SECRET, Clock, make_app, make_settings
from tests.factories import login, make_resident
from tests.fakes import FakeSender
from tests.notifications.test_webhooks import post_signed


def sweep(app: FastAPI, now: datetime) -> int:
    """What the scheduler's escalation job does, at `now`."""
    with Session(app_context(app).engine) as session:
        ran = service.escalate_due_alerts(session, app_context(app).alert_messaging, now=now)
        session.commit()
    return ran


def messages(session: Session, alert_id: int | None = None) -> list[tuple[str, str]]:
    """(recipient, stage) of every queued SMS (not calls), in order."""
    stmt = select(SmsMessage).where(SmsMessage.channel == "sms").order_by(col(SmsMessage.id))
    if alert_id is not None:
        stmt = stmt.where(SmsMessage.alert_id == alert_id)
    return [(m.recipient_ref or "", m.dedupe_key.split(":")[2]) for m in session.exec(stmt).all()]


def refs(s: Scenario, *names: str) -> list[str]:
    people = {
        "worker": f"staff:{s.worker.id}",
        "on_duty": f"staff:{s.on_duty.id}",
        "manager": f"staff:{s.manager.id}",
        "daughter": f"contact:{s.daughter.id}",
        "son": f"contact:{s.son.id}",
    }
    return [people[n] for n in names]


def alert_of(session: Session, alert_id: int) -> Alert:
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None
    return alert


def test_an_sos_pages_step_one_in_the_same_transaction(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    response = s.post(client, clock.now, "sos")
    assert response.status_code == 201
    alert_id = response.json()["alert_id"]
    alert = alert_of(session, alert_id)
    assert (alert.kind, alert.severity, alert.status, alert.escalation_steps_done) == ("sos", "critical", "open", 1)
    assert alert.next_escalation_at == clock.now + timedelta(minutes=5)
    assert [r for r, _ in messages(session, alert_id)] == refs(s, "worker", "on_duty")
    texts = session.exec(
        select(SmsMessage.body, SmsMessage.language).where(SmsMessage.alert_id == alert_id, SmsMessage.channel == "sms")
    ).all()
    chinese, english = texts
    assert chinese[1] == "zh-CN" and f"紧急#{alert_id}" in chinese[0] and "王秀英SOS紧急呼救" in chinese[0]
    assert english[1] == "en" and "SOS call" in english[0]
    assert f"{PUBLIC_URL}/r/" in chinese[0]
    assert "11011119400501008X" not in chinese[0]  # no ID numbers (nor diagnoses) in any SMS


def test_repeats_fold_into_the_open_alert(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    first = s.post(client, clock.now, "sos", event_id="s1").json()["alert_id"]
    second = s.post(client, clock.advance(seconds=20), "sos", event_id="s2").json()["alert_id"]
    assert first == second
    assert alert_of(session, first).trigger_count == 2
    assert len(messages(session)) == 2  # nothing new was sent


def test_escalation_steps_through_time_until_acknowledged(
    client: TestClient, session: Session, app: FastAPI, clock: Clock
) -> None:
    s = build(session, clock.now)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    start = clock.now
    assert sweep(app, clock.advance(minutes=4, seconds=59)) == 0
    assert sweep(app, start + timedelta(minutes=5)) == 1
    assert messages(session, alert_id)[2:] == [(r, "s2") for r in refs(s, "manager", "daughter")]
    assert sweep(app, start + timedelta(minutes=5)) == 0  # a sweep run twice does nothing twice
    sweep(app, start + timedelta(minutes=10))
    assert messages(session, alert_id)[4:] == [(r, "s3") for r in refs(s, "daughter", "son", "manager")]
    sweep(app, start + timedelta(minutes=20))
    assert messages(session, alert_id)[7:] == [(r, "r1") for r in refs(s, "worker", "on_duty", "manager")]

    clock.now = start + timedelta(minutes=21)
    answered = client.post(
        f"/api/v1/alerts/{alert_id}/acknowledge", json={"channel": "tablet"}, headers=login(client, s.worker)
    )
    assert answered.status_code == 200
    assert (answered.json()["status"], answered.json()["acknowledged_via"]) == ("acknowledged", "tablet")
    before = len(messages(session, alert_id))
    assert sweep(app, start + timedelta(hours=5)) == 0
    assert len(messages(session, alert_id)) == before  # never re-paged after acknowledgement


def test_a_restart_in_the_middle_of_an_escalation(
    client: TestClient, session: Session, clock: Clock, database_url: str
) -> None:
    s = build(session, clock.now)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    # A brand-new process: its own engine and app, nothing carried over in memory.
    restarted = make_app(make_settings(database_url))
    try:
        assert sweep(restarted, clock.now + timedelta(minutes=5)) == 1
        assert sweep(restarted, clock.now + timedelta(minutes=5)) == 0
    finally:
        app_context(restarted).engine.dispose()
    assert [stage for _, stage in messages(session, alert_id)] == ["s1", "s1", "s2", "s2"]


def test_many_acknowledgements_at_once_change_the_state_once(
    session: Session, clock: Clock, database_url: str, client: TestClient
) -> None:
    s = build(session, clock.now)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    engine = make_engine(database_url)
    staff_ids = [s.worker.id, s.on_duty.id, s.manager.id] * 4
    results: list[bool] = []
    barrier = threading.Barrier(len(staff_ids))

    def answer(staff_id: int | None) -> None:
        barrier.wait()  # all at once (on SQLite the write lock then lines them up)
        with Session(engine) as own:
            alert = own.get(Alert, alert_id)
            assert alert is not None
            changed = service.acknowledge(own, alert=alert, staff_id=staff_id, channel="api", now=clock.now)  # type: ignore[arg-type]
            own.commit()
            results.append(changed)

    threads = [threading.Thread(target=answer, args=(staff_id,)) for staff_id in staff_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    engine.dispose()
    assert sorted(results) == [False] * (len(staff_ids) - 1) + [True]
    events = session.exec(select(AlertEvent).where(AlertEvent.alert_id == alert_id, AlertEvent.kind == "acknowledged"))
    assert len(events.all()) == 1


def test_a_staff_sms_reply_acknowledges(client: TestClient, session: Session, app: FastAPI, clock: Clock) -> None:
    s = build(session, clock.now)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    reply = post_signed(client, "/webhooks/twilio/inbound", {"From": s.worker.phone, "Body": "收到"})
    assert "已确认" in reply.text  # type: ignore[attr-defined]
    alert = alert_of(session, alert_id)
    assert (alert.status, alert.acknowledged_by, alert.acknowledged_via) == ("acknowledged", s.worker.id, "sms")
    assert sweep(app, clock.now + timedelta(minutes=30)) == 0
    family = post_signed(client, "/webhooks/twilio/inbound", {"From": s.daughter.phone, "Body": "1"})
    assert "没有待确认的告警" in family.text  # type: ignore[attr-defined]


def test_ack_with_a_code_names_the_alert(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    sos = s.post(client, clock.now, "sos").json()["alert_id"]
    reply = post_signed(client, "/webhooks/twilio/inbound", {"From": s.worker.phone, "Body": f"ACK {sos + 1000}"})
    assert "没有待确认" in reply.text  # type: ignore[attr-defined]
    post_signed(client, "/webhooks/twilio/inbound", {"From": s.worker.phone, "Body": f"ack {sos}"})
    assert alert_of(session, sos).status == "acknowledged"


def _link_path(session: Session, alert_id: int, ref: str) -> str:
    body = session.exec(
        select(SmsMessage.body).where(SmsMessage.alert_id == alert_id, SmsMessage.recipient_ref == ref)
    ).first()
    assert body is not None
    return "/r/" + body.split("/r/")[1].split()[0]


def test_response_links_acknowledge_and_record_family_answers(
    client: TestClient, session: Session, app: FastAPI, clock: Clock
) -> None:
    s = build(session, clock.now)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    sweep(app, clock.now + timedelta(minutes=5))
    clock.advance(minutes=6)
    daughter_link = _link_path(session, alert_id, f"contact:{s.daughter.id}")
    assert client.post(daughter_link, data={"answer": "going"}).status_code == 200
    assert alert_of(session, alert_id).status == "open"  # family answers do not stop staff escalation
    clock.advance(minutes=1)
    worker_link = _link_path(session, alert_id, f"staff:{s.worker.id}")
    assert client.post(worker_link, data={"answer": "acknowledge"}).status_code == 200
    alert = alert_of(session, alert_id)
    assert (alert.status, alert.acknowledged_by, alert.acknowledged_via) == ("acknowledged", s.worker.id, "link")
    timeline = client.get(f"/api/v1/alerts/{alert_id}", headers=login(client, s.manager)).json()["timeline"]
    kinds = [entry["kind"] for entry in timeline]
    assert kinds[:3] == ["opened", "escalated", "message_queued"]
    assert "family_answer" in kinds and kinds.index("family_answer") < kinds.index("acknowledged")
    assert "calls_cancelled" in kinds  # the calls of the next steps are not placed
    assert any(e["kind"] == "family_answer" and e["detail"].endswith(": going") for e in timeline)


def test_each_person_paged_gets_their_own_link_and_an_opted_out_number_none(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    everyone = [Recipients.care_worker, Recipients.on_duty, Recipients.all_family]
    policy = EscalationPolicyData(steps=[EscalationStep(after_minutes=0, recipients=everyone)])
    headers = login(client, s.manager)
    url = f"/api/v1/centers/{s.center.id}/escalation-policy"
    assert client.put(url, json=policy.model_dump(mode="json"), headers=headers).status_code == 200
    session.add(SmsRecipient(phone=s.son.phone, opted_out_at=clock.now - timedelta(days=3)))  # STOP, from elsewhere
    session.commit()
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    sent = session.exec(select(SmsMessage).where(SmsMessage.alert_id == alert_id)).all()
    by_person = {m.recipient_ref: m for m in sent}
    # The number's opt-out is the one truth: the son's contact is not paged at all.
    assert set(by_person) == set(refs(s, "worker", "on_duty", "daughter"))
    for ref, message in by_person.items():
        assert message.status == "queued", ref
        token = message.body.split("/r/")[1].split()[0]
        link = session.get(ResponseLink, verify_link_token(token, TEST_SECRET.encode()))
        assert link is not None and link.alert_id == alert_id
        assert (link.phone, link.recipient_ref) == (message.to_phone, ref), "the link answers for its own recipient"


def test_a_failed_message_moves_on_to_the_next_contact_at_once(
    client: TestClient, session: Session, app: FastAPI, dispatcher: Dispatcher, sender: FakeSender, clock: Clock
) -> None:
    s = build(session, clock.now)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    dispatcher.dispatch_due(now=clock.now)
    sweep(app, clock.now + timedelta(minutes=5))  # manager and daughter
    sender.fail_next(  # in id order: the manager's message, then the daughter's
        SendError(Verdict.give_up, "blocked by the carrier", code=30004),
        SendError(Verdict.unreachable, "invalid 'To' phone number", code=21211),
    )
    dispatcher.dispatch_due(now=clock.now + timedelta(minutes=5))
    queued = messages(session, alert_id)
    assert queued[-1] == (f"contact:{s.son.id}", queued[-1][1])  # the son, straight away
    assert queued[-1][1].startswith("next")
    session.expire_all()
    assert session.get(SmsRecipient, s.daughter.phone).unreachable_code == 21211  # type: ignore[union-attr]
    alert = alert_of(session, alert_id)
    assert alert.next_escalation_at == clock.now + timedelta(minutes=5)  # staff failure: next step now


def test_a_fall_waits_for_the_cancel_window(client: TestClient, session: Session, app: FastAPI, clock: Clock) -> None:
    s = build(session, clock.now)
    headers = login(client, s.manager)
    policy = EscalationPolicyData(fall_cancel_seconds=30).model_dump(mode="json")
    assert (
        client.put(f"/api/v1/centers/{s.center.id}/escalation-policy", json=policy, headers=headers).status_code == 200
    )
    cancelled = s.post(client, clock.now, "fall", event_id="f1").json()["alert_id"]
    assert messages(session) == []
    s.post(client, clock.advance(seconds=20), "ok_button", event_id="ok1")
    assert alert_of(session, cancelled).status == AlertStatus.cancelled
    assert sweep(app, clock.advance(seconds=60)) == 0
    assert messages(session) == []

    real = s.post(client, clock.now, "fall", event_id="f2").json()["alert_id"]
    assert real != cancelled
    assert sweep(app, clock.now + timedelta(seconds=29)) == 0
    assert sweep(app, clock.now + timedelta(seconds=30)) == 1
    assert [r for r, _ in messages(session, real)] == refs(s, "worker", "on_duty")


def test_sustained_vitals_open_and_normal_ones_clear(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    answers = [
        s.post(client, clock.advance(minutes=1), "vitals", event_id=f"v{n}", heart_rate=150).json() for n in range(3)
    ]
    assert [a["alert_id"] for a in answers[:2]] == [None, None]
    alert_id = answers[2]["alert_id"]
    alert = alert_of(session, alert_id)
    assert (alert.kind, alert.severity, alert.last_value) == ("heart_rate_high", "high", "150 bpm")
    s.post(client, clock.advance(minutes=1), "vitals", event_id="calm", heart_rate=80)
    alert = alert_of(session, alert_id)
    assert (alert.status, alert.next_escalation_at) == ("auto_cleared", None)


def test_silent_devices_are_noticed_once_per_silence(
    client: TestClient, session: Session, app: FastAPI, clock: Clock
) -> None:
    s = build(session, clock.now)
    s.post(client, clock.now, "heartbeat", event_id="alive")
    messaging = app_context(app).alert_messaging

    def detect(at: datetime) -> int:
        with Session(app_context(app).engine) as own:
            raised = service.detect_silent_devices(own, messaging, now=at)
            own.commit()
        return raised

    assert detect(clock.now + timedelta(minutes=20)) == 0  # 2 x 5 min + 10 min grace: not yet
    assert detect(clock.now + timedelta(minutes=20, seconds=1)) == 1
    assert detect(clock.now + timedelta(minutes=40)) == 0
    silent = session.exec(select(Alert).where(Alert.kind == "device_silent")).one()
    assert (silent.severity, silent.last_value) == ("medium", s.watch.serial)
    assert s.post(client, clock.advance(minutes=41), "heartbeat", event_id="back").status_code == 201
    assert alert_of(session, silent.id or 0).status == "auto_cleared"


def test_a_reading_whose_sign_of_life_is_not_written_yet_is_not_silence(
    client: TestClient, session: Session, app: FastAPI, clock: Clock
) -> None:
    """The device row learns of a reading up to a second later (ingest.sightings); a sweep in that
    second must not call the device silent."""
    s = build(session, clock.now)
    first_at = clock.now
    s.post(client, first_at, "heartbeat", event_id="alive")
    assert s.post(client, clock.advance(minutes=15), "heartbeat", event_id="still").status_code == 201
    app_context(app).checkins.write_sightings().result(10)
    with Session(app_context(app).engine) as own:  # as if the second reading's sighting were still waiting
        own.execute(update(Device).where(col(Device.id) == s.watch.id).values(last_seen_at=first_at))
        own.commit()
        assert (
            service.detect_silent_devices(own, app_context(app).alert_messaging, now=first_at + timedelta(minutes=21))
            == 0
        )
        assert (
            service.detect_silent_devices(own, app_context(app).alert_messaging, now=clock.now + timedelta(minutes=21))
            == 1
        )


def test_silence_is_judged_by_each_device_s_own_interval(session: Session, app: FastAPI, clock: Clock) -> None:
    """A watch reporting hourly is not silent after 40 quiet minutes; one reporting every minute is."""
    from tests.factories import make_center, make_device, make_resident

    center = make_center(session)
    hourly, _ = make_device(
        session, center=center, resident=make_resident(session, center=center), reporting_interval_seconds=3600
    )
    chatty, _ = make_device(
        session, center=center, resident=make_resident(session, center=center), reporting_interval_seconds=60
    )
    for device in (hourly, chatty):
        device.last_seen_at = clock.now - timedelta(minutes=40)
        session.add(device)
    session.commit()
    with Session(app_context(app).engine) as own:
        assert service.detect_silent_devices(own, app_context(app).alert_messaging, now=clock.now) == 1
        own.commit()
    silent = session.exec(select(Alert).where(Alert.kind == "device_silent")).one()
    assert silent.device_id == chatty.id


def test_missed_daily_ok_check_in(client: TestClient, session: Session, app: FastAPI, clock: Clock) -> None:
    s = build(session, clock.now)
    s.resident.daily_ok_checkin = True
    session.add(s.resident)
    session.commit()
    messaging = app_context(app).alert_messaging

    def detect(at: datetime) -> int:
        with Session(app_context(app).engine) as own:
            raised = service.detect_missed_ok_checkins(own, messaging, now=at)
            own.commit()
        return raised

    # The clock starts at 10:00 Shanghai time, the default deadline: due now, and only once.
    assert detect(clock.now - timedelta(minutes=1)) == 0
    assert detect(clock.now) == 1
    assert detect(clock.now + timedelta(hours=1)) == 0
    assert s.post(client, clock.advance(hours=2), "ok_button", event_id="late-ok").status_code == 201
    missed = session.exec(select(Alert).where(Alert.kind == "missed_ok_checkin")).one()
    assert missed.status == "auto_cleared"


def test_missed_ok_check_ins_are_paged_in_steps_each_committed(
    session: Session, app: FastAPI, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the deadline a town's enrolled residents may all be due: each step of SWEEP_STEP is
    committed before the next is locked, so a resident already paged is not held by the rest."""
    s = build(session, clock.now)
    others = [make_resident(session, center=s.center) for _ in range(4)]
    for resident in (s.resident, *others):
        resident.daily_ok_checkin = True
        session.add(resident)
    session.commit()
    monkeypatch.setattr(service, "SWEEP_STEP", 2)
    engine = app_context(app).engine
    steps, seen_before_each_step = [0], []
    lock_residents = service.lock_residents

    def observed(own: Session, ids: Any) -> Any:
        steps[0] += 1
        if steps[0] > 1:  # the step before is committed: another connection sees it (on SQLite, can begin)
            with engine.connect() as other:
                missed = sa.select(sa.func.count()).select_from(Alert).where(col(Alert.kind) == "missed_ok_checkin")
                seen_before_each_step.append(other.execute(missed).scalar_one())
        return lock_residents(own, ids)

    monkeypatch.setattr(service, "lock_residents", observed)
    with Session(engine) as own:  # the job's session: each commit expires its rows
        assert service.detect_missed_ok_checkins(own, app_context(app).alert_messaging, now=clock.now) == 5
        own.commit()
    assert seen_before_each_step == [2, 4]
    assert len(session.exec(select(Alert).where(Alert.kind == "missed_ok_checkin")).all()) == 5


def test_low_battery_tells_only_the_care_worker(
    client: TestClient, session: Session, app: FastAPI, clock: Clock
) -> None:
    s = build(session, clock.now)
    alert_id = s.post(client, clock.now, "heartbeat", battery_pct=10).json()["alert_id"]
    alert = alert_of(session, alert_id)
    assert (alert.kind, alert.severity, alert.next_escalation_at) == ("low_battery", "info", None)
    assert messages(session, alert_id) == [(refs(s, "worker")[0], "info")]
    assert sweep(app, clock.now + timedelta(hours=2)) == 0


def test_nobody_on_duty_means_the_manager(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    late = clock.advance(hours=11)  # the roster's shift (2 h ago, 12 h long) is over
    alert_id = s.post(client, late, "sos").json()["alert_id"]
    assert [r for r, _ in messages(session, alert_id)] == refs(s, "worker", "manager")


def test_resolving_tells_the_family_who_heard(client: TestClient, session: Session, app: FastAPI, clock: Clock) -> None:
    s = build(session, clock.now)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    sweep(app, clock.now + timedelta(minutes=5))  # the daughter hears of it
    headers = login(client, s.worker)
    assert client.post(f"/api/v1/alerts/{alert_id}/on-site", headers=headers).json()["on_site_at"] is not None
    body = {"outcome": "handled_at_home", "note": "血压偏高，已休息"}
    resolved = client.post(f"/api/v1/alerts/{alert_id}/resolve", json=body, headers=headers)
    assert resolved.status_code == 200
    assert (resolved.json()["status"], resolved.json()["outcome"]) == ("resolved", "handled_at_home")
    outcome = session.exec(select(SmsMessage).where(SmsMessage.purpose == "outcome")).all()
    assert [(m.recipient_ref, "已在家中处置" in m.body) for m in outcome] == [(f"contact:{s.daughter.id}", True)]
    again = client.post(f"/api/v1/alerts/{alert_id}/resolve", json=body, headers=headers)
    assert again.status_code == 409


def test_answer_time_figures(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    base = clock.now
    for n, answer_after in enumerate((30, 90, 200)):
        clock.now = base + timedelta(hours=n)
        alert_id = s.post(client, clock.now, "sos", event_id=f"st{n}").json()["alert_id"]
        headers = login(client, s.worker)  # hours apart: a new login each time
        clock.advance(seconds=answer_after)
        assert client.post(f"/api/v1/alerts/{alert_id}/on-site", headers=headers).status_code == 200
        resolved = client.post(f"/api/v1/alerts/{alert_id}/resolve", json={"outcome": "false_alarm"}, headers=headers)
        assert resolved.status_code == 200
    stats = client.get(
        "/api/v1/alerts/stats",
        params={"since": (clock.now - timedelta(days=1)).isoformat()},
        headers=login(client, s.manager),
    ).json()
    assert stats["alerts"] == stats["needing_answer"] == 3
    assert stats["acknowledged_within_60s"] == 1 / 3
    assert stats["acknowledged_within_180s"] == 2 / 3
    assert stats["ack_seconds_median"] == 90
    assert stats["on_site_seconds_p90"] == 200
    assert stats["by_kind"] == {"sos": 3} and stats["by_outcome"] == {"false_alarm": 3}


def test_alert_lists_filter_and_stay_in_the_center(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    s.post(client, clock.now, "sos")
    s.post(client, clock.now, "heartbeat", battery_pct=5)
    headers = login(client, s.worker)
    everything: Any = client.get("/api/v1/alerts", headers=headers).json()
    assert everything["total"] == 2
    open_critical = client.get(
        "/api/v1/alerts", params={"severity": "critical", "status": ["open"]}, headers=headers
    ).json()
    assert [a["kind"] for a in open_critical["items"]] == ["sos"]


def test_a_device_that_never_reported_is_not_silent(session: Session, app: FastAPI, clock: Clock) -> None:
    build(session, clock.now)
    with Session(app_context(app).engine) as own:
        assert (
            service.detect_silent_devices(own, app_context(app).alert_messaging, now=clock.now + timedelta(days=2)) == 0
        )


def test_a_stage_queues_its_messages_in_one_statement(
    client: TestClient, app: FastAPI, session: Session, clock: Clock
) -> None:
    """An SOS paging three people writes their three outbox rows with one INSERT, not one each:
    every statement on the alert path is a round trip the SOS waits for on a busy gateway."""
    s = build(session, clock.now)
    everyone = [Recipients.care_worker, Recipients.on_duty, Recipients.all_family]
    policy = EscalationPolicyData(steps=[EscalationStep(after_minutes=0, recipients=everyone)])
    url = f"/api/v1/centers/{s.center.id}/escalation-policy"
    assert client.put(url, json=policy.model_dump(mode="json"), headers=login(client, s.manager)).status_code == 200
    inserts: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SMS_MESSAGE"):
            inserts.append(statement)

    engine = app_context(app).engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    paged = session.exec(select(SmsMessage.recipient_ref).where(SmsMessage.alert_id == alert_id)).all()
    assert sorted(r or "" for r in paged) == sorted(refs(s, "worker", "on_duty", "daughter", "son"))
    assert len(inserts) == 1
