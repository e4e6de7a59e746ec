"""Logging: plain text for a terminal, JSON lines for a log collector, each with its request id.

Every HTTP request gets an id (the caller's `X-Request-ID` when it is sane, a new one
otherwise), returned in the response's `X-Request-ID` and attached to every log line written
while the request is handled, including by the thread that runs a sync route.
"""

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIds:
    """ASGI middleware: a request id per HTTP request, in the logs and the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if SANE_ID.match(given) else uuid.uuid4().hex
        REQUEST_ID.set(request_id)  # each request runs in its own task: nothing leaks to the next

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


LINK_TOKEN = re.compile(r"(/r/)[A-Za-z0-9_-]+")


class RedactLinkTokens(logging.Filter):
    """A response link's token answers for its recipient until it expires: the access log shows
    `/r/…` instead. (The console sender, for demos, still prints the links it "sends".)"""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/r/" in message:
            record.msg, record.args = LINK_TOKEN.sub(r"\1…", message), ()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "-")
        if request_id != "-":
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Root logging for the CLI and servers: `text` or `json`, request ids on every line."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s [%(request_id)s]"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every run of every job
    logging.getLogger("alembic").setLevel(logging.WARNING)  # every /readyz reads the schema version
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # ten lines for every SMS sent
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line for every reading the simulator posts
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # through this handler, whoever configured them
        server_log = logging.getLogger(name)
        server_log.handlers.clear()
        server_log.setLevel(logging.NOTSET)
        server_log.propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactLinkTokens) for f in access.filters):
        access.addFilter(RedactLinkTokens())
