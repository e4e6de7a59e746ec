"""Liveness and readiness probes, and the Prometheus metrics."""

import hmac
import logging

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from carecenter.migrate import current_revisions

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request) -> JSONResponse | dict[str, str]:
    """The database answers and its schema is at the latest migration; 503 otherwise."""
    try:
        current = current_revisions(request.app.state.engine)
    except Exception as exc:  # any database failure means "not ready", never a 500
        log.warning("readiness check: database unreachable: %s", exc)
        return JSONResponse({"status": "unavailable", "detail": "database unreachable"}, status_code=503)
    if current != request.app.state.schema_heads:
        return JSONResponse(
            {
                "status": "unavailable",
                "detail": "database schema is not at the latest migration; run `python main.py migrate`",
            },
            status_code=503,
        )
    return {"status": "ready"}


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format: this process's counters, and the figures the database holds."""
    token = request.app.state.settings.metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token.get_secret_value()}".encode()):
            return Response("metrics need the token\n", status_code=401, media_type="text/plain")
    try:
        body = generate_latest(REGISTRY) + generate_latest(request.app.state.metrics)
    except sa.exc.OperationalError:  # the database is away: this process's own figures still help
        body = generate_latest(REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
