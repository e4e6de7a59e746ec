"""Logging in and out, and the language of the pages."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from carecenter.access import Role
from carecenter.auth import service as auth
from carecenter.deps import NowDep, SessionDep, SettingsDep, client_addr
from carecenter.errors import NotAuthenticated, TooManyAttempts, request_language
from carecenter.staff import service as staff_service
from carecenter.staff.models import Language
from carecenter.web.deps import BadCsrf, CsrfForm, Posted, UserDep, page_allow, posted
from carecenter.web.render import back, render, same_site_path
from carecenter.web.session import (
    CENTER_COOKIE,
    COOKIE,
    LOGIN_COOKIE,
    login_csrf_ok,
    login_csrf_token,
    new_login_nonce,
    set_login_cookie,
    set_session_cookie,
)
from carecommon.i18n import N_, gettext

router = APIRouter(include_in_schema=False)


def _login_page(
    request: Request, settings: SettingsDep, status_code: int = 200, message: str | None = None, username: str = ""
) -> HTMLResponse:
    nonce = request.cookies.get(LOGIN_COOKIE) or new_login_nonce()
    csrf = login_csrf_token(nonce, settings)
    response = render(
        request, "login.html", None, status_code=status_code, message=message, username=username, csrf=csrf
    )
    set_login_cookie(response, nonce, settings)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    return _login_page(request, settings)


class LoginForm(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=128)
    csrf: str = Field(default="", max_length=64)


@router.post("/login", response_model=None)
def login(
    request: Request,
    form: Annotated[LoginForm, Form()],
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    if not login_csrf_ok(request.cookies.get(LOGIN_COOKIE), form.csrf, settings):
        raise BadCsrf()
    try:
        token, auth_session = auth.login(
            session=session,
            username=form.username,
            password=form.password,
            client_addr=client_addr(request),
            settings=settings,
            now=now,
        )
    except (NotAuthenticated, TooManyAttempts) as exc:
        session.commit()
        message = exc.text(request_language(request))
        return _login_page(request, settings, exc.status_code, message, form.username)
    session.commit()
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, token, expires_at=auth_session.expires_at, now=now, settings=settings)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(user: UserDep, _form: CsrfForm, session: SessionDep, settings: SettingsDep, now: NowDep) -> RedirectResponse:
    auth.logout(session=session, token=user.token, settings=settings, now=now)
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


class LanguageForm(BaseModel):
    lang: Language
    next: str = Field(default="/", max_length=2000)


class CenterForm(BaseModel):
    center_id: int = Field(ge=1, le=2**31 - 1)
    next: str | None = Field(default=None, max_length=2000)


@router.post("/center", dependencies=[page_allow(Role.admin, to=N_("choose the center you work on"))])
def choose_center(
    user: UserDep, form: Annotated[Posted[CenterForm], Depends(posted(CenterForm))], session: SessionDep
) -> RedirectResponse:
    """An admin picks the center the pages show (the schedule, the figures, the group meals …)."""
    if form.data is None or form.data.center_id not in {c for c, _ in user.centers}:
        again = same_site_path(form.values.get("next"), "/board")
        return back(again, "; ".join(form.errors.values()) or gettext(N_("no such center"), user.language))
    response = back(same_site_path(form.data.next, "/board"))
    response.set_cookie(CENTER_COOKIE, str(form.data.center_id), httponly=True, samesite="lax", path="/")
    return response


@router.post("/lang")
def switch_language(
    user: UserDep, form: Annotated[Posted[LanguageForm], Depends(posted(LanguageForm))], session: SessionDep
) -> RedirectResponse:
    if form.data is None:
        return back("/", "; ".join(form.errors.values()))
    staff_service.set_language(session=session, actor=user.actor, language=form.data.lang)
    session.commit()
    return back(same_site_path(form.data.next, "/"))
