"""The FastAPI application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from carecenter.audit.router import router as audit_router
from carecenter.auth.router import router as auth_router
from carecenter.centers.router import router as centers_router
from carecenter.db import make_engine
from carecenter.errors import install_error_handlers
from carecenter.health.router import router as health_router
from carecenter.migrate import head_revisions
from carecenter.residents.router import router as residents_router
from carecenter.settings import Settings
from carecenter.staff.router import router as staff_router


def create_app(settings: Settings) -> FastAPI:
    """Build the app around one settings object; the schema must already be migrated."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.engine.dispose()

    app = FastAPI(
        title="CareCenter",
        summary="Town-level elderly-care micro-service centers: residents, visits, wearables and alerts.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.schema_heads = head_revisions()
    install_error_handlers(app)
    for router in (health_router, auth_router, centers_router, staff_router, residents_router, audit_router):
        app.include_router(router)
    return app
