"""Liveness and readiness probes."""

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

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
