"""Logging in and out, login throttling, and resolving bearer tokens to staff."""

import hashlib
import hmac
import math
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from carecenter.auth.models import LoginFailure
from carecenter.errors import NotAuthenticated, TooManyAttempts
from carecenter.passwords import burn_verify_time, verify_password
from carecenter.settings import Settings
from carecenter.staff.models import Staff
from carecenter.staff.sessions import AuthSession
from carecommon.i18n import N_, Word

# Writing last_seen_at on every request would turn each read into a write.
TOUCH_INTERVAL = timedelta(seconds=60)


def token_hash(token: str, settings: Settings) -> str:
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def _check_not_locked(
    *, session: Session, column: str, value: str, limit: int, what: str, settings: Settings, now: datetime
) -> None:
    lockout = timedelta(minutes=settings.login_lockout_minutes)
    times = session.exec(
        select(LoginFailure.at).where(getattr(LoginFailure, column) == value, col(LoginFailure.at) > now - lockout)
    ).all()
    if len(times) >= limit:
        locked_until = max(times) + lockout
        minutes = max(1, math.ceil((locked_until - now).total_seconds() / 60))
        raise TooManyAttempts(
            "Too many failed logins {what}. Try again in {minutes} min.",
            what=Word(what),
            minutes=minutes,
            retry_after_seconds=max(1, int((locked_until - now).total_seconds())),
        )


def login(
    *, session: Session, username: str, password: str, client_addr: str, settings: Settings, now: datetime
) -> tuple[str, AuthSession]:
    """Check the password and open a session; a failure is recorded (the caller commits either way)."""
    username = username.strip().lower()[:64]
    _check_not_locked(
        session=session,
        column="username",
        value=username,
        limit=settings.login_max_failures_per_user,
        what=N_("for this account"),
        settings=settings,
        now=now,
    )
    _check_not_locked(
        session=session,
        column="client_addr",
        value=client_addr,
        limit=settings.login_max_failures_per_client,
        what=N_("from this device"),
        settings=settings,
        now=now,
    )
    staff = session.exec(select(Staff).where(Staff.username == username)).first()
    if staff is None or not staff.active:
        burn_verify_time(password)
        ok = False
    else:
        ok = verify_password(password, staff.password_hash)
    if not ok or staff is None:
        session.add(LoginFailure(username=username, client_addr=client_addr, at=now))
        raise NotAuthenticated("Wrong username or password.")

    session.exec(delete(LoginFailure).where(col(LoginFailure.username) == username))
    token = secrets.token_urlsafe(32)
    assert staff.id is not None
    auth_session = AuthSession(
        token_hash=token_hash(token, settings),
        staff_id=staff.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        client_addr=client_addr,
    )
    session.add(auth_session)
    return token, auth_session


def authenticate(*, session: Session, token: str, settings: Settings, now: datetime) -> Staff:
    """The active staff member behind a token, or NotAuthenticated; refreshes the idle timer."""
    auth_session = session.exec(
        select(AuthSession).where(AuthSession.token_hash == token_hash(token, settings))
    ).first()
    expired = NotAuthenticated("Your session has ended; please log in again.")
    if auth_session is None or auth_session.revoked_at is not None or now >= auth_session.expires_at:
        raise expired
    if now - auth_session.last_seen_at > timedelta(minutes=settings.session_idle_minutes):
        raise expired
    staff = session.get(Staff, auth_session.staff_id)
    if staff is None or not staff.active:
        raise expired
    if now - auth_session.last_seen_at >= TOUCH_INTERVAL:
        auth_session.last_seen_at = now
        session.add(auth_session)
    return staff


def logout(*, session: Session, token: str, settings: Settings, now: datetime) -> None:
    """Revoke the session behind a token (unknown tokens are ignored)."""
    session.exec(
        update(AuthSession)
        .where(col(AuthSession.token_hash) == token_hash(token, settings), col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
