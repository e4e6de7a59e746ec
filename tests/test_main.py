"""The command line: demo seeding, production start checks, admin creation, and the real demo server."""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from bench.harness import database_url as fresh_database
from bench.harness import start_server
from carecenter.access import Role
from carecenter.residents.models import FamilyContact, Resident
from carecenter.staff.models import Staff
from main import listening_socket, main
from notifications.fake_twilio_api import FakeTwilioApi
from notifications.models import ProviderTemplate
from tests.conftest import TEST_SECRET, Demo
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "demo", "migrate", "create-admin"):
        assert command in out


def test_serve_refuses_the_default_secret_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_sqlite_url: str
) -> None:
    monkeypatch.delenv("CARECENTER_SECRET_KEY", raising=False)
    monkeypatch.setenv("CARECENTER_DATABASE_URL", tmp_sqlite_url)
    assert main(["serve"]) == 2
    assert "CARECENTER_SECRET_KEY" in capsys.readouterr().err


def test_serve_refuses_the_console_sender_and_incomplete_twilio(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_sqlite_url: str
) -> None:
    monkeypatch.setenv("CARECENTER_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("CARECENTER_DATABASE_URL", tmp_sqlite_url)
    monkeypatch.setenv("CARECENTER_SMS_PROVIDER", "console")
    assert main(["serve"]) == 2
    assert "the console sender reaches nobody" in capsys.readouterr().err
    monkeypatch.setenv("CARECENTER_SMS_PROVIDER", "twilio")
    monkeypatch.setenv("CARECENTER_TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "CARECENTER_TWILIO_AUTH_TOKEN is not set" in err
    assert "CARECENTER_TWILIO_FROM_NUMBER" in err


def test_serve_names_what_a_domestic_provider_still_needs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_sqlite_url: str
) -> None:
    monkeypatch.setenv("CARECENTER_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("CARECENTER_DATABASE_URL", tmp_sqlite_url)
    monkeypatch.setenv("CARECENTER_SMS_PROVIDER", "aliyun")
    monkeypatch.setenv("CARECENTER_ALIYUN_ACCESS_KEY_ID", "LTAI5tExample")
    monkeypatch.setenv("CARECENTER_FALLBACK_PROVIDER", "tencent")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "CARECENTER_ALIYUN_ACCESS_KEY_SECRET is not set (the SMS provider is aliyun)" in err
    assert "CARECENTER_ALIYUN_SIGN_NAME is not set (the voice provider is aliyun)" in err
    assert "CARECENTER_TENCENT_SECRET_ID is not set (the fallback provider is tencent)" in err


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch, tmp_sqlite_url: str) -> None:
    """Settings `serve` accepts, on a fresh (not yet migrated) SQLite file."""
    monkeypatch.setenv("CARECENTER_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("CARECENTER_DATABASE_URL", tmp_sqlite_url)
    monkeypatch.setenv("CARECENTER_SMS_PROVIDER", "twilio")
    monkeypatch.setenv("CARECENTER_TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("CARECENTER_TWILIO_AUTH_TOKEN", "token")
    monkeypatch.setenv("CARECENTER_TWILIO_FROM_NUMBER", "+15005550006")


def test_serve_refuses_an_unmigrated_database(production_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve"]) == 2
    assert "python main.py migrate" in capsys.readouterr().err


def test_serve_runs_several_workers_only_on_postgresql(
    production_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert main(["serve", "--workers", "2"]) == 2
    assert "--workers needs PostgreSQL" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--workers", "0"])
    assert "a whole number of at least 1, not '0'" in capsys.readouterr().err


def _nodelay_of_accepted_connection(listener: socket.socket) -> int:
    """TCP_NODELAY on the server side of a connection asyncio accepts on `listener`."""

    async def check() -> int:
        loop = asyncio.get_running_loop()
        accepted: asyncio.Future[int] = loop.create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = await loop.create_server(Probe, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        try:
            return await asyncio.wait_for(accepted, 5)
        finally:
            writer.close()
            server.close()

    return asyncio.run(check())


def test_the_workers_shared_socket_turns_nagle_off() -> None:
    """Nagle's algorithm with delayed ACKs holds each response ~40 ms; asyncio turns it off only
    on a listener created with proto IPPROTO_TCP, which uvicorn's own multi-process socket is not."""
    assert _nodelay_of_accepted_connection(listening_socket("127.0.0.1", 0)) != 0
    like_uvicorns = socket.socket(socket.AF_INET)
    like_uvicorns.bind(("127.0.0.1", 0))
    assert _nodelay_of_accepted_connection(like_uvicorns) == 0


def test_serve_with_workers_shares_the_port_and_one_process_leads_the_scheduler(
    tmp_path: Path, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers need PostgreSQL")
    url = fresh_database("postgresql", tmp_path, name="carecenter_workers")
    twilio = FakeTwilioApi().start()
    server = start_server(url, twilio, workers=2, extra_env={"CARECENTER_SCHEDULER_ENABLED": "true"})
    leaders: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 90  # both processes answer: on a loaded machine the second comes late
        # Until both have answered and one of them holds the lead (taken a moment after it serves).
        while (len(leaders) < 2 or sum(leaders.values()) < 1) and time.monotonic() < deadline:
            text = httpx.get(f"{server.url}/metrics").text  # a new connection each time: either worker takes it
            for process, value in re.findall(r'^carecenter_scheduler_leader\{process="([^"]+)"\} (\S+)$', text, re.M):
                leaders[process] = float(value)
    finally:
        server.stop()
        twilio.stop()
    assert len(leaders) == 2, leaders
    assert sorted(leaders.values()) == [0.0, 1.0], "exactly one process runs the scheduled jobs"


def test_the_demo_can_send_through_a_domestic_provider_to_its_stand_in(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    session: Session,
    database_url: str,
    demo: Demo,
) -> None:
    demo()  # seeded already (the test after this one seeds it from nothing)
    monkeypatch.setenv("CARECENTER_DATABASE_URL", database_url)
    monkeypatch.setenv("CARECENTER_DEMO_PASSWORD", PASSWORD)
    assert main(["demo", "--no-serve", "--provider", "aliyun"]) == 0
    assert "aliyun through its SDK to a local stand-in" in capsys.readouterr().out
    codes = session.exec(select(ProviderTemplate.provider, ProviderTemplate.code)).all()
    assert {p for p, _code in codes} == {"aliyun", "tencent", "wechat"}  # what an admin would have entered


def test_demo_on_a_seeded_database_seeds_nothing_and_scopes_the_manager(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    client: TestClient,
    session: Session,
    database_url: str,
    demo: Demo,
) -> None:
    """The first run seeds (the README demo test sees "new demo data"); a second run on the same
    database adds nothing. The seeded database here is the demo copy, seeded as `demo` seeds it."""
    demo()
    monkeypatch.setenv("CARECENTER_DATABASE_URL", database_url)
    monkeypatch.setenv("CARECENTER_DEMO_PASSWORD", PASSWORD)
    counts = (
        session.exec(select(func.count()).select_from(Resident)).one(),
        session.exec(select(func.count()).select_from(Staff)).one(),
        session.exec(select(func.count()).select_from(FamilyContact)).one(),
    )
    assert main(["demo", "--no-serve"]) == 0
    assert "existing demo data" in capsys.readouterr().out
    session.expire_all()
    assert counts == (
        session.exec(select(func.count()).select_from(Resident)).one(),
        session.exec(select(func.count()).select_from(Staff)).one(),
        session.exec(select(func.count()).select_from(FamilyContact)).one(),
    )

    token = client.post("/api/v1/auth/token", data={"username": "manager", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    manager = client.get("/api/v1/staff/me", headers=headers).json()
    page = client.get("/api/v1/residents", params={"limit": 500}, headers=headers).json()
    assert page["total"] >= 300
    assert {r["center_id"] for r in page["items"]} == {manager["center_id"]}
    workers = client.get("/api/v1/staff", params={"role": "care_worker"}, headers=headers).json()
    assert workers["total"] >= 12
    assert counts[0] > page["total"]  # the second town's residents exist, but not for this manager


def test_create_admin_uses_the_environment_password(
    monkeypatch: pytest.MonkeyPatch, client: TestClient, database_url: str
) -> None:
    monkeypatch.setenv("CARECENTER_DATABASE_URL", database_url)
    monkeypatch.setenv("CARECENTER_ADMIN_PASSWORD", "admin-password-1")
    assert main(["create-admin", "--username", "Chief", "--name", "区管理员", "--phone", "13900004444"]) == 0
    response = client.post("/api/v1/auth/token", data={"username": "chief", "password": "admin-password-1"})
    assert response.status_code == 200
    me = client.get("/api/v1/staff/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}).json()
    assert me["role"] == Role.admin


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cpu_seconds(pid: int) -> float:
    """User and system time of a running process (Linux /proc: fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_the_readme_demo_command_serves_within_30_seconds(tmp_path: Path, database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the demo's embedded path is SQLite")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARECENTER_")} | {
        "CARECENTER_DEMO_PASSWORD": PASSWORD
    }
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "demo", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() - started < 120:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("the demo did not answer /readyz within 120 s")
        # A newcomer's machine is idle: 30 s of the clock. Beside the suite's other workers (they
        # share the cores) the clock says little, so the demo's own work is measured: its CPU time.
        took = time.monotonic() - started if not os.environ.get("PYTEST_XDIST_WORKER") else _cpu_seconds(server.pid)
        assert took < 30, f"the demo took {took:.1f} s to serve"
        token = httpx.post(f"{base}/api/v1/auth/token", data={"username": "manager", "password": PASSWORD}).json()
        centers = httpx.get(f"{base}/api/v1/centers", headers={"Authorization": f"Bearer {token['access_token']}"})
        assert [c["town"] for c in centers.json()["items"]] == ["长阳镇"]
        assert (tmp_path / "carecenter.db").exists()  # the default database lives in the working directory
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'carecenter.db'}")
        with engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        engine.dispose()
        # An SOS: the console SMS carry a response link that opens where the demo serves.
        gateway = json.loads((tmp_path / "carecenter-demo-keys.json").read_text())["gateways"][0]
        sos = {
            "event_id": "demo-port-sos",
            "device": gateway["devices"][0]["serial"],
            "kind": "sos",
            "recorded_at": datetime.now(UTC).isoformat(),
        }
        posted = httpx.post(f"{base}/api/v1/checkins", json=sos, headers={"X-Device-Key": gateway["key"]})
        assert posted.status_code == 201, posted.text
        time.sleep(2)  # the dispatcher is woken by the commit
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert "CareCenter demo (new demo data)" in output
    assert "password: " + PASSWORD in output
    links = re.findall(r"https?://[^\s,，]+/r/[A-Za-z0-9_-]+", output)
    assert links and all(link.startswith(f"http://127.0.0.1:{port}/r/") for link in links), output[-2000:]


def test_the_scheduler_runs_as_its_own_process(tmp_path: Path, database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("one run is enough")
    url = f"sqlite:///{tmp_path / 'sched.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARECENTER_")} | {
        "CARECENTER_DATABASE_URL": url,
        "PYTHONUNBUFFERED": "1",
    }
    migrated = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "migrate"], env=env, cwd=tmp_path, capture_output=True, timeout=60
    )
    assert migrated.returncode == 0, migrated.stderr
    log = tmp_path / "scheduler.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "scheduler"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while "scheduler running" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        assert "scheduler running" in log.read_text(), log.read_text()
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("the scheduler did not stop on SIGTERM:\n" + log.read_text())
    assert process.returncode == 0, log.read_text()
    assert "scheduler stopped" in log.read_text()


def test_a_process_that_serves_no_http_does_not_load_the_api_the_pages_or_unused_sdks(tmp_path: Path) -> None:
    """`python main.py gateway` builds the app without HTTP: a city runs seven of them, and the API,
    the pages, WeChat's SDK and the demo's stand-ins would cost each ~25 MB it never uses."""
    script = (
        "import sys, main\n"
        "from carecenter.settings import Settings\n"
        f"main.create_app(Settings(database_url='sqlite:///{tmp_path / 'g.db'}'), http=False)\n"
        "prefixes = ('carecenter.api', 'carecenter.web', 'carecenter.demo', 'wechatpy', 'notifications.fake_')\n"
        "print(sorted(m for m in sys.modules if m.startswith(prefixes)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARECENTER_")}
    run = [sys.executable, "-c", script]
    done = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stdout
