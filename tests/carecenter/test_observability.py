"""Request ids in responses and log lines; /metrics in Prometheus text format."""

import io
import json
import logging
import re

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.context import app_context
from carecenter.logs import JsonFormatter, RequestIdFilter, RequestIds, configure_logging
from notifications.fake_twilio_api import FakeTwilioApi
from notifications.senders import TwilioSender
from schedules.jobs import all_sweeps, run_sweep
from schedules.leader import LeaderLock
from tests.carecenter.alerts.scenario import build
from tests.conftest import Clock, make_app, make_settings
from tests.factories import login
from tests.notifications.test_twilio_sender import twilio_settings


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" ([0-9.e+-]+)"
    found = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_every_response_has_a_request_id(client: TestClient) -> None:
    generated = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.1"}).headers["x-request-id"] == "lb-7f3a.1"
    odd = client.get("/healthz", headers={"X-Request-ID": "no spaces <or> tags"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", odd)


def test_json_log_lines_carry_the_request_id_even_from_a_worker_thread() -> None:
    app = FastAPI()
    app.add_middleware(RequestIds)
    log = logging.getLogger("tests.observability")

    @app.get("/work")
    def work() -> dict[str, str]:  # a sync route: FastAPI runs it in a thread
        log.warning("处理中 %s", "ok")
        return {}

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    log.addHandler(handler)
    try:
        with TestClient(app) as client:
            request_id = client.get("/work").headers["x-request-id"]
    finally:
        log.removeHandler(handler)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["request_id"] == request_id
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "tests.observability", "处理中 ok")
    assert line["time"].endswith("+00:00")


def test_server_logs_leave_out_chatter_and_link_tokens(client: TestClient, twilio_api: FakeTwilioApi) -> None:
    """What `serve` configures: the SDK's ten lines for each SMS and Alembic's two for each /readyz
    stay out; what a person at 3 a.m. needs (our own warnings) stays in."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("twilio.http_client", "alembic", "httpx")}
    stream = io.StringIO()
    try:
        configure_logging("text")
        handler = root.handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)
        TwilioSender(twilio_settings(twilio_api)).send(to="+8613800138000", body="测试", status_callback=None)
        assert client.get("/readyz").status_code == 200
        httpx.get(f"{twilio_api.base_url}/")  # as the demo's simulator posts readings
        logging.getLogger("carecenter.test").warning("短信发送失败")
        logging.getLogger("notifications.senders").warning("SMS to %s: %s", "+8613800138000", "回复 /r/Demo1")
        access = ('%s - "%s %s HTTP/%s" %d', "10.0.0.7:5123", "POST", "/r/q2Xk9_-Zt0aB3cD4eF5gH6iJ", "1.1", 200)
        logging.getLogger("uvicorn.access").info(*access)  # uvicorn's own format
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)
    assert len(twilio_api.received) == 1
    lines = stream.getvalue().splitlines()
    assert [line for line in lines if any(name in line for name in ("twilio", "alembic", "httpx"))] == []
    assert any("WARNING carecenter.test: 短信发送失败" in line for line in lines)
    assert any('10.0.0.7:5123 - "POST /r/… HTTP/1.1" 200' in line for line in lines), "a link token is a credential"
    assert "q2Xk9" not in stream.getvalue()
    assert any(line.endswith("回复 /r/Demo1 [-]") for line in lines), "the demo's console SMS keep their links"


def test_metrics_count_readings_alerts_acknowledgements_messages_and_sweeps(
    client: TestClient, session: Session, app: FastAPI, clock: Clock
) -> None:
    before = client.get("/metrics").text
    s = build(session, clock.now)
    s.post(client, clock.now, "heartbeat", event_id="m-1")
    s.post(client, clock.now, "heartbeat", event_id="m-1")  # the same again: a duplicate
    alert_id = s.post(client, clock.now, "sos", event_id="m-sos").json()["alert_id"]
    clock.advance(seconds=90)
    client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"channel": "tablet"}, headers=login(client, s.worker))
    context = app_context(app)
    sweep = all_sweeps(context.alert_messaging, context.visit_rules)["escalate-alerts"]
    run_sweep("escalate-alerts", sweep, engine=context.engine, now=clock.now)
    leader = LeaderLock(app_context(app).engine)
    leader.check()
    try:
        response = client.get("/metrics")
    finally:
        leader.release()
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text

    def grew(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("carecenter_readings_ingested_total", result="accepted") == 2
    assert grew("carecenter_readings_ingested_total", result="duplicate") == 1
    assert metric(after, "carecenter_alerts_opened_total", kind="sos") == 1
    assert metric(after, "carecenter_alert_time_to_acknowledge_seconds_bucket", le="60") == 0
    assert metric(after, "carecenter_alert_time_to_acknowledge_seconds_bucket", le="120") == 1
    assert metric(after, "carecenter_alert_time_to_acknowledge_seconds_sum") == 90
    assert metric(after, "carecenter_sms_messages", status="queued") == 2  # the worker and the one on duty
    assert grew("carecenter_sweep_duration_seconds_count", job="escalate-alerts") == 1
    assert re.search(r'^carecenter_scheduler_leader\{process="[^"]+"\} 1\.0$', after, re.MULTILINE)


def test_readings_are_counted_only_once_their_transaction_commits(
    client: TestClient, session: Session, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = build(session, clock.now)
    batch = {"readings": [{"event_id": "c-1", "kind": "heartbeat", "recorded_at": clock.now.isoformat()}]}
    headers = {"X-Device-Key": s.key}

    def accepted() -> float:
        return metric(client.get("/metrics").text, "carecenter_readings_ingested_total", result="accepted")

    before = accepted()
    real_commit = Session.commit

    def lost_connection(self: Session) -> None:
        raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(Session, "commit", lost_connection)
    assert client.post("/api/v1/checkins/batch", json=batch, headers=headers).status_code == 503
    monkeypatch.setattr(Session, "commit", real_commit)
    assert accepted() == before, "nothing was stored, so nothing is counted"
    answer = client.post("/api/v1/checkins/batch", json=batch, headers=headers)
    assert answer.json()["accepted"] == 1
    assert accepted() == before + 1


def test_metrics_can_require_a_token(database_url: str) -> None:
    with TestClient(make_app(make_settings(database_url, metrics_token="scrape-secret-1"))) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-1"}).status_code == 200


def test_a_recurring_failure_is_logged_once_per_interval_with_a_count(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carecenter import errors

    moment = [1000.0]
    monkeypatch.setattr("carecenter.errors.time.monotonic", lambda: moment[0])
    throttled = errors.ThrottledLog(logging.getLogger("tests.outage"), every_seconds=10)
    with caplog.at_level(logging.WARNING, logger="tests.outage"):
        for n in range(500):  # an outage under load: five hundred failed requests in five seconds
            moment[0] += 0.01
            throttled.warning("database error on %s", f"/api/{n}")
        moment[0] += 10
        throttled.warning("database error on %s", "/api/last")
    assert [r.getMessage() for r in caplog.records] == [
        "database error on /api/0",
        "database error on /api/last (and 499 more like it since the last such line)",
    ]
