"""Pages from Jinja2 templates in the user's language, dates in the center's zone, redirects."""

import hashlib
import hmac
import secrets
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, get_day_names
from babel.numbers import format_decimal, format_percent
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from heroicons.jinja import heroicon_outline
from markupsafe import Markup

from carecenter.context import context_of
from carecenter.errors import request_language
from carecenter.geo import amap_link
from carecenter.web.session import csrf_token
from carecenter.web.user import WebUser
from carecenter.words import alert_kind_name, field_name, outcome_name, value_name
from carecommon.i18n import BABEL_LOCALES, install_jinja_gettext, language_of

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.add_extension("jinja2.ext.i18n")
install_jinja_gettext(templates.env)


def icon(name: str, size: int = 20) -> Markup:
    """A Heroicons outline icon inline (no request, no script; hidden from screen readers: the
    words beside it say what it means). Names: https://heroicons.com (the package's own set)."""
    return Markup(heroicon_outline(name, size=size, **{"class": "icon"}))  # noqa: S704 (the package's own SVG)


templates.env.globals["icon"] = icon


def local_time(moment: datetime | None, time_zone: str, language: str, pattern: str = "short") -> str:
    """A moment in the center's time zone, written the way the user's locale writes it."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(time_zone))
    if pattern == "HH:mm":  # the same in every locale; Babel takes ~0.1 ms, a week grid has thousands
        return local.strftime("%H:%M")
    return format_datetime(local, pattern, locale=BABEL_LOCALES[language_of(language)])


def weekday_name(weekday: int, language: str) -> str:
    """0 = Monday, abbreviated as the locale writes it (周一, Mon)."""
    return str(get_day_names("abbreviated", locale=BABEL_LOCALES[language_of(language)])[weekday])


def money(fen: int, language: str) -> str:
    """Fen as the locale writes yuan: ¥1,234.50."""
    return "¥" + format_decimal(Decimal(fen) / 100, format="#,##0.00", locale=BABEL_LOCALES[language_of(language)])


def number(value: float | int | None, language: str) -> str:
    """A count or a quantity: whole numbers without decimals (1,012), others with up to two (1.5)."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0.##", locale=BABEL_LOCALES[language_of(language)])


def percent(share: float | None, language: str) -> str:
    """A share as the locale writes a percentage (93%); none: a dash."""
    if share is None:
        return "—"
    return format_percent(share, locale=BABEL_LOCALES[language_of(language)])


def render(
    request: Request,
    name: str,
    user: WebUser | None,
    status_code: int = 200,
    *,
    language: str | None = None,
    time_zone: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """A template with the user (or the browser's) language, zone and this session's CSRF token;
    a page without a user (the response link's) may name its language and zone."""
    language = language or (user.language if user else request_language(request))
    settings = context_of(request).settings
    zone = time_zone or (user.time_zone if user else settings.timezone)

    # Forms carry the session's CSRF token; the login page brings its own pre-session token.
    form_token = csrf_token(user.token, settings) if user else context.pop("csrf", "")

    def when(moment: datetime | None, pattern: str = "short") -> str:
        return local_time(moment, zone, language, pattern)

    helpers: dict[str, Any] = {
        "when": when,
        "value_name": lambda value: value_name(value, language),
        "field_name": lambda field: field_name(field, language),
        "kind_name": lambda kind: alert_kind_name(kind, language),
        "outcome_name": lambda outcome: outcome_name(outcome, language),
        "weekday": lambda day: weekday_name(int(day), language),
        "map_link": amap_link,
        "money": lambda fen: money(fen, language),
        "number": lambda value: number(value, language),
        "percent": lambda share: percent(share, language),
    }
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "lang": language,
            "error": page_error(request),
            "saved": request.query_params.get("saved") == "1",
            "csrf": form_token,
            **helpers,
            **context,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def same_site_path(target: str | None, default: str) -> str:
    """`target` if it is a path on this site ("/board"), else `default`: never "//other.host/…",
    "/\\other.host", a scheme or a host."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ch in target for ch in "\\\r\n\t"):
        return default
    return target


# The error a redirect carries to the next page is signed: a link with any other `?error=` text
# (a phishing message, say) shows nothing. The key is the app's secret (install_web sets it).
_error_key = secrets.token_bytes(32)


def set_error_key(secret: bytes) -> None:
    global _error_key
    _error_key = hashlib.sha256(b"page-error|" + secret).digest()


def _error_mark(error: str) -> str:
    return hmac.new(_error_key, error.encode(), hashlib.sha256).hexdigest()[:20]


def page_error(request: Request) -> str | None:
    """The error a redirect of ours sent with the page, if its mark is right."""
    error, mark = request.query_params.get("error"), request.query_params.get("mark", "")
    if error and hmac.compare_digest(mark, _error_mark(error)):
        return error
    return None


def back(path: str, error: str | None = None, *, saved: bool = False) -> RedirectResponse:
    """303 to a page of ours, with an error to show at its top (or a "Saved" toast)."""
    separator = "&" if "?" in path else "?"
    carried = f"{separator}error={quote(error)}&mark={_error_mark(error)}" if error else ""
    if saved and not error:
        carried = f"{separator}saved=1"
    return RedirectResponse(path + carried, status_code=303)
