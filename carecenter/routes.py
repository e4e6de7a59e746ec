"""What the app answers over HTTP: the JSON API, the pages, the providers' webhooks, and the
handlers, documents and middleware around them.

Kept apart from `app.py` so that a process that serves no HTTP (`python main.py gateway`) never
imports them: ~30 MB a process, of a city's seven.
"""

from fastapi import FastAPI

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
from carecenter.errors import install_error_handlers
from carecenter.logs import RequestIds
from carecenter.openapi import install_openapi
from carecenter.web import error_page, install_web
from notifications.provider_webhooks import router as provider_webhooks_router
from notifications.webhooks import install_webhook_errors
from notifications.webhooks import router as sms_webhooks_router
from notifications.wechat_webhooks import router as wechat_webhooks_router


def install_routes(app: FastAPI) -> None:
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
