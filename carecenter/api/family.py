"""JSON endpoints for managers: share, renew and revoke a family contact's family page."""

from fastapi import APIRouter, Request, Response

from carecenter.access import Role
from carecenter.context import context_of
from carecenter.deps import ActorDep, NowDep, SessionDep, allow
from carecenter.family import service
from carecenter.residents.service import get_contact
from carecenter.residents.sharing import FamilyLink, FamilyLinkPublic
from carecommon.i18n import N_

router = APIRouter(prefix="/api/v1/residents/{resident_id}/contacts/{contact_id}/family-link", tags=["residents"])


@router.get("", response_model=FamilyLinkPublic | None)
def get_family_link(
    resident_id: int, contact_id: int, actor: ActorDep, session: SessionDep, now: NowDep
) -> FamilyLink | None:
    """The contact's family page link that still works (null if none)."""
    get_contact(session=session, actor=actor, resident_id=resident_id, contact_id=contact_id)
    return service.current_link(session, contact_id, now)


@router.post(
    "",
    response_model=FamilyLinkPublic,
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("share the family page"))],
)
def share_family_page(
    resident_id: int, contact_id: int, request: Request, actor: ActorDep, session: SessionDep, now: NowDep
) -> FamilyLink:
    """Give the contact the family page for 90 days (or renew it), and text them the link.

    409 when the resident has not consented to sharing with family.
    """
    link = service.share_family_page(
        session=session,
        actor=actor,
        messaging=context_of(request).alert_messaging,
        resident_id=resident_id,
        contact_id=contact_id,
        now=now,
    )
    session.commit()
    return link


@router.delete("", status_code=204, dependencies=[allow(Role.manager, Role.admin, to=N_("revoke the family page"))])
def revoke_family_page(
    resident_id: int, contact_id: int, actor: ActorDep, session: SessionDep, now: NowDep
) -> Response:
    """The contact's family page link stops working at once."""
    service.revoke_family_page(session=session, actor=actor, resident_id=resident_id, contact_id=contact_id, now=now)
    session.commit()
    return Response(status_code=204)
