# ruff: noqa: E402 (bytecode is switched on before the imports below)
"""Shared fixtures: every database test runs on SQLite and, when configured, on PostgreSQL.

Set CARECENTER_TEST_DATABASE_URL (for example postgresql+psycopg://postgres@127.0.0.1:5432/test)
to add the PostgreSQL run. That database's public schema is dropped and rebuilt by the tests; in
parallel (pytest-xdist, the default) each worker uses a database of its own beside it (`test_gw0`, …).
"""

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Where the environment says PYTHONDONTWRITEBYTECODE (this machine's does), each Python process the
# suite starts (workers, servers, the demo, the scheduler) would compile the project from source
# again, ~0.4 s of CPU each. The run's processes share compiled files instead, and this first
# process writes them for what it imports below, before the workers start.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.app import create_app
from carecenter.context import app_context
from carecenter.db import make_engine
from carecenter.demo.seed import DemoSummary
from carecenter.media.settings import MediaSettings
from carecenter.migrate import upgrade_to_head
from carecenter.settings import Settings
from carecommon.clock import get_now
from notifications.dispatcher import Dispatcher
from notifications.fake_twilio_api import FakeTwilioApi
from notifications.settings import SmsProvider, SmsSettings
from tests.axe import start_installing_axe
from tests.chromium import CHROMIUM
from tests.demo_copy import seeded_demo
from tests.emptying import empty_database
from tests.factories import PASSWORD
from tests.fakes import FakeSender

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
TEST_TWILIO_TOKEN = "test-twilio-auth-token"
PUBLIC_URL = "https://carecenter.test"
DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("CARECENTER_TEST_DATABASE_URL") else [])


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Five workers on two cores: much of the suite waits on sockets, servers, subprocesses and the
    browser. Measured on this project's 2-core machine: 4 workers 265 s on SQLite, 530 s on both
    databases; 5 workers 248 s and 498 s (6 was slower again: memory and the browsers)."""
    return (5 * (os.cpu_count() or 1) + 1) // 2


# The longest tests start first, in this order, and a worker is handed one test at a time
# (`--maxschedchunk 1`), so that the run does not end with three workers idle while the fourth
# works through its queue. (Grouping a module on one worker, `--dist loadgroup`, does not work
# with pytest 9.2: xdist 3.8 names the group in a field pytest no longer reads.) One test seeds
# the demo copy first; the others that use it come after the fuzzing, when it is ready.
SLOW_FIRST = (
    "tests/carecenter/web/test_pages.py::test_main_pages_stay_light_with_a_full_center",
    "tests/system/test_crash_safety.py",
    "tests/test_main.py::test_the_readme_demo_command_serves_within_30_seconds",
    "tests/carecenter/test_api_fuzz.py::test_no_answer_is_a_server_error_or_breaks_its_schema",
    # Started by the time axe-core is installed (in the background from the run's start).
    "tests/carecenter/web/test_browser_checks.py::test_every_page_has_no_serious_accessibility_problem[sqlite-manager",
    "tests/system/",
    "tests/test_main.py::test_serve_with_workers",
    "tests/test_main.py::test_the_scheduler_runs_as_its_own_process",
    "tests/carecenter/test_access_matrix.py::test_every_operation_allows_exactly_its_callers",
    "tests/carecenter/web/test_web_access.py::test_every_page_allows_exactly_its_callers",
    "tests/schedules/test_scheduler.py::test_every_job_runs_once_on_a_seeded_database",
    "tests/carecenter/test_demo_simulation.py",
    "tests/test_main.py::test_the_demo_can_send_through_a_domestic_provider_to_its_stand_in",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((n for n, start in enumerate(SLOW_FIRST) if item.nodeid.startswith(start)), len(SLOW_FIRST))

    items.sort(key=rank)  # stable: the rest keep their order


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own (SQLite files already
    are its own: each worker has its own temporary directory)."""
    worker, url = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("CARECENTER_TEST_DATABASE_URL")
    if worker and url and url.startswith("postgresql"):
        os.environ["CARECENTER_TEST_DATABASE_URL"] = worker_database(url, worker)
    from carecenter.wiring import wire

    wire()  # tests that call the services without an app get the tiers joined as create_app joins them
    if not worker and CHROMIUM.exists():  # the run's first process
        start_installing_axe()


def worker_database(url: str, worker: str) -> str:
    """`test` -> `test_gw0`, recreated empty: the worker drops and rebuilds its schema at will."""
    base = sa.make_url(url)
    name = f"{base.database}_{worker}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def reset_postgres_schema(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database of each kind, built once per test session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    else:
        url = os.environ["CARECENTER_TEST_DATABASE_URL"]
        reset_postgres_schema(url)
    upgrade_to_head(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[sa.Engine]:
    """The tests' own view of the database: on SQLite, reads that never hold the app's write lock."""
    engine = make_engine(database_url, sqlite_write_lock=False)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: sa.Engine) -> Iterator[sa.Engine]:
    """The test database, emptied after the test."""
    yield engine
    empty_database(engine)


@pytest.fixture
def session(db: sa.Engine) -> Iterator[Session]:
    with Session(db, expire_on_commit=False) as session:
        yield session


def make_sms_settings(**overrides: object) -> SmsSettings:
    """No dispatcher thread (tests dispatch with an explicit `now`), a webhook token."""
    values: dict[str, object] = {
        "sms_dispatcher_enabled": False,
        "twilio_auth_token": TEST_TWILIO_TOKEN,
    }
    return SmsSettings(**(values | overrides))  # type: ignore[arg-type]


def twilio_sms_settings(fake: FakeTwilioApi, **overrides: object) -> SmsSettings:
    """Twilio through its SDK, pointed at the local fake of its API."""
    return make_sms_settings(
        sms_provider="twilio",
        twilio_account_sid=fake.account_sid,
        twilio_auth_token=fake.auth_token,
        twilio_from_number="+15005550006",
        twilio_api_base=fake.base_url,
        **overrides,
    )


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "public_url": PUBLIC_URL,
        "sms": make_sms_settings(),
        "media": MediaSettings(media_dir=tempfile.mkdtemp(prefix="carecenter-media-")),
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


def make_app(settings: Settings, **kwargs: Any) -> FastAPI:
    """The app as the tests run it: SMS go to a FakeSender unless the settings name Twilio."""
    if settings.sms.sms_provider != SmsProvider.twilio:
        kwargs.setdefault("sender", FakeSender())
    return create_app(settings, **kwargs)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
def app(settings: Settings) -> Iterator[FastAPI]:
    app = make_app(settings)
    yield app
    app_context(app).engine.dispose()


class Clock:
    """A hand-moved clock: tests step through time without sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where tests.demo_copy keeps the seeded demo's rows: one folder for all workers of a run."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "demo-copies"


Demo = Callable[..., DemoSummary]


@pytest.fixture
def demo(session: Session, demo_folder: Path, clock: Clock) -> Demo:
    """`demo(paperwork=...)`: the seeded demo at the test clock's time, committed, every login's
    password `tests.factories.PASSWORD` (one password, so that the run seeds one demo a database)."""

    def seeded(*, paperwork: bool = True) -> DemoSummary:
        return seeded_demo(session, demo_folder, password=PASSWORD, now=clock.now, paperwork=paperwork)

    return seeded


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))  # 10:00 in Asia/Shanghai


@pytest.fixture
def client(app: FastAPI, db: sa.Engine, clock: Clock) -> Iterator[TestClient]:
    app.dependency_overrides[get_now] = lambda: clock.now
    with TestClient(app, base_url="https://testserver", client=("203.0.113.7", 50000)) as client:
        yield client
    app.dependency_overrides.clear()
    sender = app_context(app).sms.dispatcher.sender
    assert isinstance(sender, FakeSender)
    sender.sent.clear()
    sender.calls.clear()
    sender.failures.clear()


@pytest.fixture
def dispatcher(app: FastAPI, client: TestClient) -> Dispatcher:
    """The app's dispatcher; call `dispatch_due(now)` to send what is due."""
    dispatcher: Dispatcher = app_context(app).sms.dispatcher
    return dispatcher


@pytest.fixture
def sender(dispatcher: Dispatcher) -> FakeSender:
    assert isinstance(dispatcher.sender, FakeSender)
    return dispatcher.sender


@pytest.fixture(scope="session")
def fake_twilio() -> Iterator[FakeTwilioApi]:
    fake = FakeTwilioApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio_api(fake_twilio: FakeTwilioApi) -> Iterator[FakeTwilioApi]:
    """The local stand-in of the Twilio API, emptied for each test."""
    fake_twilio.received.clear()
    fake_twilio.calls.clear()
    fake_twilio.failures.clear()
    yield fake_twilio


@pytest.fixture
def tmp_sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fresh.db'}"
