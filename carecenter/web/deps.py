"""What every page depends on: the logged-in user (the API's own login sessions, from a cookie),
the role a route needs, CSRF checks, and posted forms validated by typed models."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from carecenter.access import Role
from carecenter.centers.service import all_centers, get_center
from carecenter.context import context_of, request_session
from carecenter.deps import NowDep, SessionDep, SettingsDep, authenticated_actor
from carecenter.errors import DomainError, Forbidden, NotAuthenticated, NotFound, field_errors
from carecenter.settings import Settings
from carecenter.web.render import back
from carecenter.web.session import csrf_ok, session_token, working_center
from carecenter.web.user import WebUser
from carecommon.clock import utcnow
from carecommon.i18n import N_, language_of


class LoginRequired(Exception):
    """No valid session: the browser goes to the login page."""


class BadCsrf(Exception):
    """A form without this session's token: refused (403)."""


def _web_user(request: Request, session: Session, settings: Settings, now: Any) -> WebUser:
    token = session_token(request)
    if not token:
        raise LoginRequired()
    try:
        actor, staff = authenticated_actor(request=request, session=session, token=token, settings=settings, now=now)
    except NotAuthenticated as exc:
        raise LoginRequired() from exc
    centers: list[tuple[int, str]] = []
    if actor.is_admin:  # an admin works on the center they chose in the header (the pages default to it)
        centers = [(c.id or 0, c.name) for c in all_centers(session)]
        chosen = working_center(request)
        if chosen in {c for c, _ in centers}:
            actor = replace(actor, center_id=chosen)
    center = get_center(session=session, actor=actor, center_id=actor.center_id) if actor.center_id else None
    session.commit()  # end the read: a page must not hold a transaction (on SQLite, the write lock) for long
    zone = center.time_zone if center else settings.timezone
    user = WebUser(actor, staff, token, language_of(staff.language), zone, centers)
    request.state.language = user.language  # error pages and messages answer in it
    request.state.web_user = user
    return user


def web_user(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep) -> WebUser:
    """The logged-in staff member behind the session cookie, or a redirect to the login page."""
    return _web_user(request, session, settings, now)


def optional_web_user(request: Request) -> WebUser | None:
    """The user, for pages shown outside a route's dependencies (an error page): None if not logged in."""
    known = getattr(request.state, "web_user", None)
    if known is not None or not session_token(request):
        return known
    try:
        context = context_of(request)
        with request_session(context) as session:
            return _web_user(request, session, context.settings, utcnow())
    except Exception:  # an error page must not fail: without a user it is shown bare
        return None


UserDep = Annotated[WebUser, Depends(web_user)]


def manager_user(user: UserDep) -> WebUser:
    """Managers and admins only (403 for care workers)."""
    user.actor.require(Role.manager, Role.admin, to=N_("open the manager's pages"))
    return user


ManagerDep = Annotated[WebUser, Depends(manager_user)]


def page_allow(*roles: Role, to: str) -> Any:
    """The roles a page route is for beyond its user dependency (`ManagerDep` is managers and
    admins): `dependencies=[page_allow(Role.admin, to=…)]`. Services do not check roles."""

    def role_allowed(user: UserDep) -> None:
        user.actor.require(*roles, to=to)

    return Depends(role_allowed)


async def csrf_form(request: Request, user: UserDep, settings: SettingsDep) -> FormData:
    """The posted form, if it carries this session's CSRF token (403 otherwise)."""
    form = await request.form()
    if not csrf_ok(user.token, str(form.get("csrf") or ""), settings):
        raise BadCsrf()
    return form


CsrfForm = Annotated[FormData, Depends(csrf_form)]


def csrf_header(request: Request, user: UserDep, settings: SettingsDep) -> None:
    """A script's request (JSON, not a form) carries the page's CSRF token in X-CSRF-Token (403 otherwise)."""
    if not csrf_ok(user.token, request.headers.get("X-CSRF-Token"), settings):
        raise BadCsrf()


CsrfHeader = Depends(csrf_header)
M = TypeVar("M", bound=BaseModel)


@dataclass
class Posted(Generic[M]):
    """A posted form: the model if it validated, what was typed, and the errors by field."""

    data: M | None
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)


class NoFields(BaseModel):
    """A form that only carries its CSRF token."""


def form_values(form: FormData, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """The form as a dict (repeated fields named in `lists` as lists), without the CSRF token."""
    values: dict[str, Any] = {key: str(form.get(key) or "").strip() for key in form if key != "csrf"}
    return values | {key: [str(v) for v in form.getlist(key)] for key in lists}


def validate_form(model: type[M], values: dict[str, Any], language: str) -> Posted[M]:
    """Validate with the model; an empty field counts as not given."""
    given = {k: v for k, v in values.items() if v != ""}
    try:
        return Posted(model.model_validate(given), values)
    except ValidationError as exc:
        return Posted(None, values, field_errors(exc.errors(include_url=False), language))


def posted(model: type[M], *, lists: tuple[str, ...] = ()) -> Callable[..., Awaitable[Posted[M]]]:
    """A dependency: the CSRF-checked form validated by `model` (never a 500 on a bad value)."""

    async def dependency(user: UserDep, form: CsrfForm) -> Posted[M]:
        return validate_form(model, form_values(form, lists), user.language)

    return dependency


def run_action(
    session: Session,
    user: WebUser,
    form: Posted[M],
    act: Callable[[M], object],
    *,
    back_to: str,
    done: str | None = None,
) -> Response:
    """The one way a page does something: a form that did not validate, or a domain error the user
    can act on, goes back to `back_to` with its words in the user's language (nothing saved);
    otherwise commit and go to `done`. A record that is not there for this user, or an action
    their role may not take, is not "try again": it is the 404 / 403 page."""
    if form.data is None:
        return back(back_to, "; ".join(form.errors.values()))
    try:
        act(form.data)
    except DomainError as exc:
        if isinstance(exc, NotFound | Forbidden):
            raise  # nothing is committed; the error page still shows the user (no rollback expires it)
        session.rollback()
        return back(back_to, exc.text(user.language))
    session.commit()
    return back(done or back_to, saved=True)
