"""The tablet and manager UI: server-rendered pages over the same services and queries as the API.

`deps.py` (the user, roles, CSRF, form models), `render.py` (templates, words, dates) and
`pages/` split by what the user does; each page calls a domain's service or queries module.
"""

import hashlib
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from carecenter.context import app_context
from carecenter.errors import request_language
from carecenter.web.deps import BadCsrf, LoginRequired, optional_web_user
from carecenter.web.pages import (
    alerts,
    api_clients,
    assessments,
    devices,
    exports,
    family,
    figures,
    paperwork,
    records,
    residents,
    respond,
    schedule,
    session,
    tablet,
    templates_page,
    verification,
    wechat,
    worker,
)
from carecenter.web.render import HERE, render, set_error_key
from carecommon.i18n import N_, gettext


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    """What a browser sees for a 4xx/5xx: the message on a page of the app, in the user's language."""
    user = optional_web_user(request)
    return render(request, "error.html", user, status_code=status_code, message=message, code=status_code)


PAGES = (
    session,
    worker,
    alerts,
    residents,
    schedule,
    devices,
    figures,
    respond,
    family,
    wechat,
    templates_page,
    assessments,
    paperwork,
    tablet,
    verification,
    exports,
    api_clients,
    records,  # last: its /manage/{kind} would take /manage/templates, /manage/devices/… from the others
)
FORM_EXPIRED = N_("This form has expired; reload the page and try again.")


STATIC = HERE / "static"
ASSETS_MARK = "__ASSETS__"  # in sw.js: where the assets' version goes


def shell_version(directory: Path) -> str:
    """A digest of every static file: it changes when any script, style or icon does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def install_web(app: FastAPI) -> None:
    """Pages, static assets (served by the app: a center's LAN may have no internet) and their errors."""

    @app.get("/static/sw.js", include_in_schema=False)
    def service_worker() -> Response:
        """The tablet's service worker, allowed to look after every page (not only /static), its
        cache named after the assets' content: a changed script or style is a new worker, which
        the tablet installs on its next load, fetching the new files and dropping the old cache."""
        headers = {"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"}
        script = (STATIC / "sw.js").read_text().replace(ASSETS_MARK, shell_version(STATIC))
        return Response(script, media_type="text/javascript", headers=headers)

    set_error_key(app_context(app).settings.secret_key.get_secret_value().encode())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for page in PAGES:
        app.include_router(page.router)

    @app.exception_handler(LoginRequired)
    async def _login(_request: Request, _exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(BadCsrf)
    async def _csrf(request: Request, _exc: BadCsrf) -> Response:
        return error_page(request, 403, gettext(FORM_EXPIRED, request_language(request)))
