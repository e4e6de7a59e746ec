"""Liveness and readiness probes, and the Prometheus metrics."""

import hmac
import logging
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlmodel import Session

from carecenter.context import context_of
from carecenter.health.watch import find_problems
from carecenter.migrate import current_revisions
from carecommon.clock import get_now

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request, now: Annotated[datetime, Depends(get_now)]) -> JSONResponse | dict[str, str]:
    """The database answers, its schema is at the latest migration, and the platform finds nothing
    down (a late sweep, a critical message that does not leave, a process or a center's devices gone
    quiet, no scheduler holding the lock); 503 with what is wrong otherwise."""
    try:
        current = current_revisions(context_of(request).engine)
    except Exception as exc:  # any database failure means "not ready", never a 500
        log.warning("readiness check: database unreachable: %s", exc)
        return JSONResponse({"status": "unavailable", "detail": "database unreachable"}, status_code=503)
    if current != context_of(request).schema_heads:
        return JSONResponse(
            {
                "status": "unavailable",
                "detail": "database schema is not at the latest migration; run `python main.py migrate`",
            },
            status_code=503,
        )
    try:
        with Session(context_of(request).engine) as session:
            problems = find_problems(session, now=now, settings=context_of(request).settings.health)
    except sa.exc.OperationalError:
        return JSONResponse({"status": "unavailable", "detail": "database unreachable"}, status_code=503)
    if problems:
        detail = "; ".join(p.words("en") for p in problems)
        return JSONResponse({"status": "unavailable", "detail": detail, "problems": [p.key for p in problems]}, 503)
    return {"status": "ready"}


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format: this process's counters, and the figures the database holds."""
    token = context_of(request).settings.metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token.get_secret_value()}".encode()):
            return Response("metrics need the token\n", status_code=401, media_type="text/plain")
    try:
        body = generate_latest(REGISTRY) + generate_latest(context_of(request).metrics)
    except sa.exc.OperationalError:  # the database is away: this process's own figures still help
        body = generate_latest(REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
