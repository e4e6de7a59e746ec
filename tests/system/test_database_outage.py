"""PostgreSQL away under load: 503 with Retry-After (never a 500, never a hang), /readyz not
ready, and everything back once the database is, without restarting the server.

The outage lasts CARECENTER_OUTAGE_SECONDS (5 in CI; 30 for the full run).
"""

import os
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from bench.harness import database_url, seed, start_server
from notifications.fake_twilio_api import FakeTwilioApi
from tests.system.tcp_proxy import TcpProxy

TEST_URL = os.environ.get("CARECENTER_TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not TEST_URL.startswith("postgresql"), reason="the outage is PostgreSQL's")
OUTAGE_SECONDS = float(os.environ.get("CARECENTER_OUTAGE_SECONDS", "5"))


def test_the_api_says_503_while_the_database_is_away_and_recovers(tmp_path: Path) -> None:
    url = database_url("postgresql", tmp_path, name="carecenter_outage")
    seeded = seed(url, residents=20, now=datetime.now(UTC))
    real = make_url(url)
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432)).start()
    twilio = FakeTwilioApi().start()
    server = start_server(real.set(port=proxy.port).render_as_string(hide_password=False), twilio)
    phase = "before"
    seen: Counter[tuple[str, int]] = Counter()
    slowest: dict[str, float] = {}
    retry_after: set[str] = set()
    stop = threading.Event()

    def device(key: str) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while not stop.is_set():
                body = {"event_id": uuid.uuid4().hex, "kind": "heartbeat", "recorded_at": datetime.now(UTC).isoformat()}
                started = time.monotonic()
                response = client.post("/api/v1/checkins", json=body, headers={"X-Device-Key": key})
                took, where = time.monotonic() - started, phase
                seen[(where, response.status_code)] += 1
                slowest[where] = max(slowest.get(where, 0.0), took)
                if response.status_code == 503:
                    retry_after.add(response.headers.get("Retry-After", ""))
                time.sleep(0.05)

    devices = [threading.Thread(target=device, args=(key,)) for key in seeded.watch_keys[:4]]
    try:
        for thread in devices:
            thread.start()
        time.sleep(1.5)
        assert httpx.get(server.url + "/readyz").status_code == 200
        phase = "outage"
        proxy.cut()
        time.sleep(OUTAGE_SECONDS / 2)
        ready = httpx.get(server.url + "/readyz", timeout=30)
        assert ready.status_code == 503 and ready.json()["detail"] == "database unreachable"
        time.sleep(OUTAGE_SECONDS / 2)
        phase = "after"
        proxy.restore()
        deadline = time.monotonic() + 15
        while seen[("after", 201)] < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert httpx.get(server.url + "/readyz").status_code == 200
    finally:
        stop.set()
        for thread in devices:
            thread.join(30)
        server.stop()
        twilio.stop()
        proxy.close()
    statuses = {status for _, status in seen}
    assert statuses <= {200, 201, 503}, seen  # never a 500
    assert seen[("before", 201)] > 0 and seen[("outage", 503)] > 0 and seen[("after", 201)] >= 20, seen
    assert retry_after == {"2"}, retry_after
    assert slowest["outage"] < 10, slowest  # an answer, not a hang
    print(f"\ndatabase outage of {OUTAGE_SECONDS:g} s: {dict(seen)}, slowest answers {slowest}")
