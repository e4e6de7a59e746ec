"""The FastAPI application factory."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry

from carecenter.assessments.definition import definitions
from carecenter.context import AppContext, app_context, attach
from carecenter.db import make_engine
from carecenter.health.database import DatabaseFigures
from carecenter.health.figures import PlatformFigures
from carecenter.ingest.batcher import CheckinBatcher
from carecenter.media.store import make_store
from carecenter.messaging.outbound import AlertMessaging
from carecenter.migrate import head_revisions
from carecenter.openapi import integer_params_in_range
from carecenter.security import CareCenterAPI
from carecenter.settings import Settings
from carecenter.wiring import DomainSmsEvents, wire
from carecommon.clock import utcnow
from notifications.channel import SmsChannel, bind_channel
from notifications.dispatcher import Dispatcher
from notifications.providers import deployment_sender, make_senders
from notifications.senders import SmsSender


class Service(Protocol):
    """Something that runs beside the app for its lifetime (the scheduler, a simulator)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def create_app(
    settings: Settings,
    *,
    sender: SmsSender | None = None,
    services: Sequence[Callable[[FastAPI], Service]] = (),
    http: bool = True,
) -> FastAPI:
    """Build the app around one settings object; the schema must already be migrated.

    `sender` replaces the one CARECENTER_SMS_PROVIDER names (tests pass a FakeSender);
    `services` are built from the finished app and run for its lifetime (main.py passes the
    scheduler: carecenter itself imports no scheduler). Without `http` the app answers nothing:
    its context and lifespan run the services (`python main.py gateway`).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = app_context(app)
        running = [make(app) for make in services]
        if settings.sms.sms_dispatcher_enabled:
            context.sms.dispatcher.start()
        for service in running:
            service.start()
        yield
        for service in reversed(running):
            service.stop()
        context.checkins.stop()
        context.sms.dispatcher.stop()
        context.engine.dispose()

    app = CareCenterAPI(
        title="CareCenter",
        summary="Town-level elderly-care micro-service centers: residents, visits, wearables and alerts.",
        version="0.1.0",
        lifespan=lifespan,
        public_url=settings.public_url,
        max_request_bytes=settings.max_request_bytes,
        dependencies=[Depends(integer_params_in_range)],
    )
    engine = make_engine(settings.database_url)
    visit_rules = settings.visit_rules()
    definitions(settings.assessment_dir)  # the assessment forms: a broken province file stops the start here
    link_secret = settings.secret_key.get_secret_value().encode()
    alert_messaging = AlertMessaging(sms=settings.sms, public_url=settings.public_url, link_secret=link_secret)
    wire()
    events = DomainSmsEvents(alert_messaging)
    senders = make_senders(settings.sms)
    dispatcher = Dispatcher(
        engine=engine,
        sender=sender or deployment_sender(settings.sms, senders),
        senders=senders,
        settings=settings.sms,
        public_url=settings.public_url,
        events=events,
        clock=utcnow,
    )
    channel = SmsChannel(
        engine=engine,
        settings=settings.sms,
        public_url=settings.public_url,
        link_secret=link_secret,
        events=events,
        dispatcher=dispatcher,
    )
    # SQLite: one writer at a time, so the check-in writer lets the dispatcher's writes go between its own.
    sqlite = engine.dialect.name == "sqlite"
    checkins = CheckinBatcher(
        engine,
        alert_messaging,
        give_way=dispatcher.turns.give_way if sqlite else None,
        gather_seconds=settings.devices.device_gather_ms / 1000,
    )
    metrics = CollectorRegistry()
    metrics.register(DatabaseFigures(engine))
    metrics.register(PlatformFigures(engine, settings.health))
    context = AppContext(
        settings=settings,
        engine=engine,
        schema_heads=frozenset(head_revisions()),
        visit_rules=visit_rules,
        media=make_store(settings.media),
        alert_messaging=alert_messaging,
        sms=channel,
        checkins=checkins,
        metrics=metrics,
    )
    attach(app, context)
    bind_channel(app, channel)
    if http:
        # Imported here, not above: a process that serves no HTTP never loads the API and the pages.
        from carecenter.routes import install_routes

        install_routes(app)
    return app
