"""The current time as a dependency, so tests step through time without sleeping.

It lives in the neutral layer so the SMS webhooks and the domain routes share one `now`.
"""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


def get_now() -> datetime:
    """FastAPI dependency for `now`; tests override it."""
    return utcnow()
