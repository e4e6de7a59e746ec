"""The message templates a center's providers approved: every kind with the Chinese text to apply
for and its parameters, the code an admin entered, and the URLs to register with each provider."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from carecenter.access import Role
from carecenter.context import context_of
from carecenter.deps import NowDep, SessionDep
from carecenter.messaging import service
from carecenter.messaging.models import TemplateIn, TemplateProvider
from carecenter.web.deps import ManagerDep, Posted, page_allow, posted, run_action
from carecenter.web.render import render
from carecommon.i18n import N_
from notifications.kinds import KINDS
from notifications.provider_webhooks import receipt_urls
from notifications.wechat_webhooks import WECHAT_PATH

router = APIRouter(include_in_schema=False)


@router.get("/manage/templates", response_class=HTMLResponse)
def templates_page(request: Request, user: ManagerDep, session: SessionDep) -> HTMLResponse:
    entered = {(t.provider, t.kind): t for t in service.list_templates(session=session, actor=user.actor)}
    public_url = context_of(request).settings.public_url.rstrip("/")
    kinds = [k for k in KINDS.values() if k.name != "text"]
    return render(
        request,
        "templates.html",
        user,
        kinds=kinds,
        providers=[p.value for p in TemplateProvider],
        entered=entered,
        proposed={k.name: k.proposed.replace("{public_url}", public_url) for k in kinds},
        editable=user.actor.role == Role.admin,
        urls=receipt_urls(context_of(request).sms) if user.actor.role == Role.admin else {},
        wechat_url=f"{public_url}{WECHAT_PATH}",
        ready=context_of(request).settings.sms.configured_providers(),
    )


class TemplateForm(TemplateIn):
    provider: TemplateProvider
    kind: str


@router.post(
    "/manage/templates",
    response_model=None,
    dependencies=[page_allow(Role.admin, to=N_("change the message templates"))],
)
def save(
    user: ManagerDep,
    session: SessionDep,
    now: NowDep,
    request: Request,
    form: Annotated[Posted[TemplateForm], Depends(posted(TemplateForm))],
) -> Response:
    def act(data: TemplateForm) -> None:
        fields = TemplateIn(code=data.code, fields=data.fields)
        service.save_template(
            session=session, actor=user.actor, provider=data.provider, kind=data.kind, data=fields, now=now
        )

    response = run_action(session, user, form, act, back_to="/manage/templates")
    context_of(request).sms.dispatcher.forget_templates()
    return response
