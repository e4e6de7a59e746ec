"""The browser session: the same login sessions as the API, carried in a cookie, plus CSRF tokens."""

import hashlib
import hmac
import secrets
from datetime import datetime

from fastapi import Request, Response

from carecenter.auth.service import token_hash
from carecenter.settings import Settings

COOKIE = "cc_session"


def csrf_token(session_token: str, settings: Settings) -> str:
    """A per-session form token: only pages served to this session carry it."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"csrf:" + token_hash(session_token, settings).encode(), hashlib.sha256).hexdigest()[:40]


def csrf_ok(session_token: str, submitted: str | None, settings: Settings) -> bool:
    return bool(submitted) and hmac.compare_digest(csrf_token(session_token, settings), submitted or "")


CENTER_COOKIE = "cc_center"  # the center an admin works on: a preference, not a permission


def working_center(request: Request) -> int | None:
    value = request.cookies.get(CENTER_COOKIE, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def set_session_cookie(
    response: Response, token: str, *, expires_at: datetime, now: datetime, settings: Settings
) -> None:
    """The login session in an HttpOnly cookie that lives as long as the session can.

    Max-Age, not Expires: a lifetime relative to the moment the browser receives it, so a tablet
    whose clock is off (or a test's clock) does not throw the cookie away early or keep it late.
    """
    response.set_cookie(
        COOKIE,
        token,
        max_age=max(0, int((expires_at - now).total_seconds())),
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
        path="/",
    )


def session_token(request: Request) -> str | None:
    return request.cookies.get(COOKIE)


LOGIN_COOKIE = "cc_login"


def new_login_nonce() -> str:
    """A random value the login form's browser keeps in a cookie until it logs in."""
    return secrets.token_urlsafe(24)


def login_csrf_token(nonce: str, settings: Settings) -> str:
    """The login form's token, bound to the browser's pre-session cookie (no session exists yet):
    a page elsewhere cannot read the cookie, so it cannot post a login in this browser's name."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"login:" + nonce.encode(), hashlib.sha256).hexdigest()[:40]


def login_csrf_ok(nonce: str | None, submitted: str | None, settings: Settings) -> bool:
    return (
        bool(nonce)
        and bool(submitted)
        and hmac.compare_digest(login_csrf_token(nonce or "", settings), submitted or "")
    )


def set_login_cookie(response: Response, nonce: str, settings: Settings) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
        path="/login",
    )
