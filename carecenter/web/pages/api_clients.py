"""The receiving systems' API clients in the console (admins): each one's centers and last use, a
new one with its token shown once, and revoking one at once."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, select

from carecenter.access import Role
from carecenter.auth import clients
from carecenter.auth.models import ApiClientCreate
from carecenter.centers.models import Center
from carecenter.deps import NowDep, SessionDep, SettingsDep
from carecenter.errors import DomainError
from carecenter.web.deps import (
    CsrfForm,
    ManagerDep,
    NoFields,
    Posted,
    form_values,
    page_allow,
    posted,
    run_action,
    validate_form,
)
from carecenter.web.render import render
from carecommon.i18n import N_

router = APIRouter(include_in_schema=False)
ADMINS = page_allow(Role.admin, to=N_("manage the API clients of receiving systems"))


def _page(request: Request, user: ManagerDep, session: SessionDep, **more: Any) -> HTMLResponse:
    centers = session.exec(select(Center).order_by(col(Center.name))).all()
    names = {c.id: c.name for c in centers}
    listed = clients.list_clients(session=session)
    return render(request, "api_clients.html", user, clients=listed, centers=centers, names=names, **more)


@router.get("/manage/api-clients", response_class=HTMLResponse, dependencies=[ADMINS])
def api_clients_page(request: Request, user: ManagerDep, session: SessionDep) -> HTMLResponse:
    return _page(request, user, session)


@router.post("/manage/api-clients", response_class=HTMLResponse, dependencies=[ADMINS])
def create_api_client(
    request: Request, user: ManagerDep, form: CsrfForm, session: SessionDep, settings: SettingsDep, now: NowDep
) -> HTMLResponse:
    """The token is on this answer only (it is kept as a hash): the page says to copy it now."""
    posted_form = validate_form(ApiClientCreate, form_values(form, lists=("center_ids",)), user.language)
    if posted_form.data is None:
        return _page(request, user, session, errors=posted_form.errors, values=posted_form.values)
    try:
        created = clients.create_client(
            session=session, actor=user.actor, data=posted_form.data, settings=settings, now=now
        )
    except DomainError as error:
        session.rollback()
        return _page(request, user, session, errors={"_": error.text(user.language)}, values=posted_form.values)
    session.commit()
    return _page(request, user, session, created=created)


@router.post("/manage/api-clients/{client_id}/revoke", response_model=None, dependencies=[ADMINS])
def revoke_api_client(
    client_id: int,
    user: ManagerDep,
    session: SessionDep,
    now: NowDep,
    form: Annotated[Posted[NoFields], Depends(posted(NoFields))],
) -> Response:
    def act(_data: NoFields) -> None:
        clients.revoke_client(session=session, actor=user.actor, client_id=client_id, now=now)

    return run_action(session, user, form, act, back_to="/manage/api-clients")
