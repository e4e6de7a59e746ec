"""A device listener of the test app on a free port, and the scenario's device as one of its devices."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from carecenter.alerts.models import Alert, AlertEvent
from carecenter.context import app_context
from carecenter.devices.models import DeviceKind, DeviceProtocol
from carecenter.devices.protocol import DeviceProtocolSpec
from carecenter.gateway.listener import DeviceListener
from carecenter.ingest import batcher as batcher_module
from carecenter.ingest import service as readings_service
from carecenter.settings.devices import DeviceSettings
from tests.carecenter.alerts.scenario import Scenario, build
from tests.carecenter.devices.watch_client import Watch, position
from tests.conftest import Clock


@contextmanager
def running_listener(
    app: FastAPI,
    clock: Clock,
    protocol: DeviceProtocolSpec,
    *,
    host: str = "127.0.0.1",
    unverified: Callable[[Session, int, datetime, str], object] | None = None,
    name: str = "gateway",
    live: Callable[[Session], set[str]] | None = None,
    port: int = 0,
    **settings: Any,
) -> Iterator[DeviceListener]:
    """Short time-outs unless given; the port is any free one unless given. `name` and `live`: this
    gateway process among several, and how it finds the others alive."""
    values = {"watch_idle_seconds": 30, "watch_frame_seconds": 1, "watch_command_timeout_seconds": 2} | settings
    values |= {f"{protocol.name}_port": port, f"{protocol.name}_host": host}
    listener = DeviceListener(
        protocol=protocol,
        engine=app_context(app).engine,
        checkins=app_context(app).checkins,
        settings=DeviceSettings(**values),
        clock=lambda: clock.now,
        media=app_context(app).media,
        unverified=unverified,
        name=name,
        live=live,
    )
    listener.start()
    try:
        yield listener
    finally:
        listener.stop()


def scenario_with(session: Session, clock: Clock, serial: str, protocol: DeviceProtocol) -> Scenario:
    """The alert scenario, its resident's device known by `serial` over `protocol`."""
    scenario = build(session, clock.now)
    scenario.watch.serial, scenario.watch.protocol = serial, protocol
    if protocol == DeviceProtocol.gt06:
        scenario.watch.kind = DeviceKind.pendant
    session.add(scenario.watch)
    session.commit()
    return scenario


def fail_the_next_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check-in writer's next transaction fails (the database went away), the ones after work."""
    real_ingest = readings_service.ingest
    failures = [RuntimeError("the database went away mid-transaction")]

    def failing_once(**kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return real_ingest(**kwargs)

    monkeypatch.setattr(batcher_module, "ingest", failing_once)


def unverified_sos(watch: Watch, session: Session, clock: Clock) -> str:
    """The watch presses SOS: answered, and the alert's timeline says where the unverified connection is from."""
    watch.send(position("AL", clock.now, status=1 << 16))
    assert watch.receive().content == b"AL"
    alert = session.exec(select(Alert).where(Alert.kind == "sos")).one()
    note = session.exec(
        select(AlertEvent).where(AlertEvent.alert_id == alert.id, AlertEvent.kind == "unverified_source")
    ).one()
    return note.detail
