"""What the running app is made of, built once in `create_app`: the one object a request reads it from.

Routes and pages take what they need through `carecenter/deps.py`; code that has a request but
no dependency injection (template rendering, the error pages) calls `context_of(request)`.
Nothing else reads `app.state`.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from prometheus_client import CollectorRegistry
from sqlmodel import Session

from carecenter.ingest.batcher import CheckinBatcher
from carecenter.media.store import MediaStore
from carecenter.messaging.outbound import AlertMessaging
from carecenter.settings import Settings
from carecenter.settings.visits import VisitRules
from notifications.channel import SmsChannel


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    engine: sa.Engine
    schema_heads: frozenset[str]  # the migrations this code expects (readiness compares)
    visit_rules: VisitRules
    media: MediaStore
    alert_messaging: AlertMessaging  # alerts' SMS, calls and WeChat messages, built once
    sms: SmsChannel  # the channel's dispatcher, senders and webhooks' configuration, built once
    checkins: CheckinBatcher
    metrics: CollectorRegistry


def attach(app: FastAPI, context: AppContext) -> None:
    app.state.context = context


def context_of(request: Request) -> AppContext:
    return app_context(request.app)


def app_context(app: Any) -> AppContext:
    """The context of an app `create_app` built (any ASGI app object that is one: a test client's)."""
    context: AppContext = app.state.context
    return context


def get_context(request: Request) -> AppContext:
    return context_of(request)


def request_session(context: AppContext) -> Session:
    """A session as a request has it: its rows stay readable after the route commits."""
    return Session(context.engine, expire_on_commit=False)


def get_session(request: Request) -> Iterator[Session]:
    """One session per request (shared by every dependency of it); the route commits, this only closes."""
    with request_session(context_of(request)) as session:
        yield session


def get_settings(request: Request) -> Settings:
    return context_of(request).settings
