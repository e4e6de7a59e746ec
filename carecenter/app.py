"""The FastAPI application factory."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry

from carecenter.api.alerts import router as alerts_router
from carecenter.api.api_clients import router as api_clients_router
from carecenter.api.assessments import router as assessments_router
from carecenter.api.audit import router as audit_router
from carecenter.api.auth import router as auth_router
from carecenter.api.catalogue import router as catalogue_router
from carecenter.api.centers import router as centers_router
from carecenter.api.checkin_route import install_plain_checkin_route
from carecenter.api.devices import profiles_router as device_profiles_router
from carecenter.api.devices import router as devices_router
from carecenter.api.duty import router as duty_router
from carecenter.api.exports import router as exports_router
from carecenter.api.family import router as family_router
from carecenter.api.fhir import router as fhir_router
from carecenter.api.health import router as health_router
from carecenter.api.messaging import router as messaging_router
from carecenter.api.readings import router as readings_router
from carecenter.api.reports import router as reports_router
from carecenter.api.residents import router as residents_router
from carecenter.api.service_records import router as service_records_router
from carecenter.api.staff import router as staff_router
from carecenter.api.subsidies import router as subsidies_router
from carecenter.api.visits import router as visits_router
from carecenter.assessments.definition import definitions
from carecenter.context import AppContext, app_context, attach
from carecenter.db import make_engine
from carecenter.errors import install_error_handlers
from carecenter.health.database import DatabaseFigures
from carecenter.health.figures import PlatformFigures
from carecenter.ingest.batcher import CheckinBatcher
from carecenter.logs import RequestIds
from carecenter.media.store import make_store
from carecenter.messaging.outbound import AlertMessaging
from carecenter.migrate import head_revisions
from carecenter.openapi import install_openapi, integer_params_in_range
from carecenter.security import CareCenterAPI
from carecenter.settings import Settings
from carecenter.web import error_page, install_web
from carecenter.wiring import DomainSmsEvents, wire
from carecommon.clock import utcnow
from notifications.channel import SmsChannel, bind_channel
from notifications.dispatcher import Dispatcher
from notifications.provider_webhooks import router as provider_webhooks_router
from notifications.providers import deployment_sender, make_senders
from notifications.senders import SmsSender
from notifications.webhooks import install_webhook_errors
from notifications.webhooks import router as sms_webhooks_router
from notifications.wechat_webhooks import router as wechat_webhooks_router


class Service(Protocol):
    """Something that runs beside the app for its lifetime (the scheduler, a simulator)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def create_app(
    settings: Settings,
    *,
    sender: SmsSender | None = None,
    services: Sequence[Callable[[FastAPI], Service]] = (),
) -> FastAPI:
    """Build the app around one settings object; the schema must already be migrated.

    `sender` replaces the one CARECENTER_SMS_PROVIDER names (tests pass a FakeSender);
    `services` are built from the finished app and run for its lifetime (main.py passes the
    scheduler: carecenter itself imports no scheduler).
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
    checkins = CheckinBatcher(engine, alert_messaging, give_way=dispatcher.turns.give_way if sqlite else None)
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
    install_error_handlers(app, page=error_page)
    install_openapi(app)
    install_webhook_errors(app)
    app.add_middleware(RequestIds)  # added last: outermost, so every log line of the request has its id
    install_web(app)
    routers = (
        health_router,
        auth_router,
        centers_router,
        staff_router,
        residents_router,
        family_router,
        audit_router,
        messaging_router,
        sms_webhooks_router,
        provider_webhooks_router,
        wechat_webhooks_router,
        devices_router,
        device_profiles_router,
        readings_router,
        alerts_router,
        duty_router,
        visits_router,
        catalogue_router,
        assessments_router,
        subsidies_router,
        service_records_router,
        reports_router,
        api_clients_router,
        exports_router,
        fhir_router,
    )
    for router in routers:
        app.include_router(router)
    install_plain_checkin_route(app)
    return app
