"""JSON endpoints for residents and their family contacts."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from carecenter.access import Role
from carecenter.deps import ActorDep, NowDep, SessionDep, VisitRulesDep, allow
from carecenter.fields import NO_NUL
from carecenter.pagination import Page, PageParams, page_params
from carecenter.residents import home_code, service
from carecenter.residents.home_code import HomeCodePublic
from carecenter.residents.models import (
    CareLevel,
    FamilyContactCreate,
    FamilyContactPublic,
    FamilyContactUpdate,
    Resident,
    ResidentCreate,
    ResidentNotes,
    ResidentPublic,
    ResidentStatus,
    ResidentSummary,
    ResidentUpdate,
)
from carecommon.i18n import N_

router = APIRouter(prefix="/api/v1/residents", tags=["residents"])


@router.get("", response_model=Page[ResidentSummary])
def list_residents(
    actor: ActorDep,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[
        str | None, Query(max_length=64, pattern=NO_NUL, description="Part of a name, or 3+ digits of a phone")
    ] = None,
    center_id: int | None = None,
    status: ResidentStatus | None = None,
    care_level: CareLevel | None = None,
    worker_id: Annotated[int | None, Query(description="Primary care worker")] = None,
) -> Page[Resident]:
    """List and search residents of your center (admins: any center)."""
    return service.list_residents(
        session=session,
        actor=actor,
        page=page,
        q=q,
        center_id=center_id,
        status=status,
        care_level=care_level,
        worker_id=worker_id,
    )


@router.post(
    "",
    response_model=ResidentPublic,
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("register residents"))],
)
def create_resident(data: ResidentCreate, actor: ActorDep, session: SessionDep, now: NowDep) -> ResidentPublic:
    """Register a resident (managers and admins)."""
    resident = service.create_resident(session=session, actor=actor, data=data, now=now)
    session.commit()
    return service.to_public(resident, actor)


@router.get("/{resident_id}", response_model=ResidentPublic)
def read_resident(resident_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> ResidentPublic:
    """Read a resident's full record (the read is audited)."""
    resident = service.read_resident(session=session, actor=actor, resident_id=resident_id, now=now)
    session.commit()
    return service.to_public(resident, actor)


@router.patch(
    "/{resident_id}",
    response_model=ResidentPublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("change a resident's record"))],
)
def update_resident(
    resident_id: int, data: ResidentUpdate, actor: ActorDep, session: SessionDep, now: NowDep
) -> ResidentPublic:
    """Change a resident's record (managers and admins)."""
    resident = service.update_resident(session=session, actor=actor, resident_id=resident_id, data=data, now=now)
    session.commit()
    return service.to_public(resident, actor)


@router.put("/{resident_id}/notes", response_model=ResidentPublic)
def update_notes(
    resident_id: int, data: ResidentNotes, actor: ActorDep, session: SessionDep, now: NowDep
) -> ResidentPublic:
    """Replace a resident's notes (care workers too)."""
    resident = service.update_notes(session=session, actor=actor, resident_id=resident_id, notes=data.notes, now=now)
    session.commit()
    return service.to_public(resident, actor)


@router.delete(
    "/{resident_id}", status_code=204, dependencies=[allow(Role.manager, Role.admin, to=N_("delete a resident"))]
)
def delete_resident(resident_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> None:
    """Erase a resident and their contacts (managers and admins)."""
    service.delete_resident(session=session, actor=actor, resident_id=resident_id, now=now)
    session.commit()


@router.get("/{resident_id}/contacts", response_model=list[FamilyContactPublic])
def list_contacts(resident_id: int, actor: ActorDep, session: SessionDep) -> list[FamilyContactPublic]:
    """A resident's family contacts in calling order."""
    return service.list_contacts(session=session, actor=actor, resident_id=resident_id)


@router.post(
    "/{resident_id}/contacts",
    response_model=FamilyContactPublic,
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("add family contacts"))],
)
def create_contact(
    resident_id: int, data: FamilyContactCreate, actor: ActorDep, session: SessionDep, now: NowDep
) -> FamilyContactPublic:
    """Add a family contact (managers and admins)."""
    contact = service.create_contact(session=session, actor=actor, resident_id=resident_id, data=data, now=now)
    session.commit()
    return service.contacts_public(session, [contact])[0]


@router.patch(
    "/{resident_id}/contacts/{contact_id}",
    response_model=FamilyContactPublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("change family contacts"))],
)
def update_contact(
    resident_id: int, contact_id: int, data: FamilyContactUpdate, actor: ActorDep, session: SessionDep, now: NowDep
) -> FamilyContactPublic:
    """Change a family contact (managers and admins)."""
    contact = service.update_contact(
        session=session, actor=actor, resident_id=resident_id, contact_id=contact_id, data=data, now=now
    )
    session.commit()
    return service.contacts_public(session, [contact])[0]


@router.post(
    "/{resident_id}/contacts/{contact_id}/reachable",
    response_model=FamilyContactPublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("change family contacts"))],
)
def mark_number_reachable(
    resident_id: int, contact_id: int, actor: ActorDep, session: SessionDep, now: NowDep
) -> FamilyContactPublic:
    """The contact's number works again: clears what the SMS provider reported (managers and admins)."""
    contact = service.mark_number_reachable(
        session=session, actor=actor, resident_id=resident_id, contact_id=contact_id, now=now
    )
    session.commit()
    return service.contacts_public(session, [contact])[0]


@router.delete(
    "/{resident_id}/contacts/{contact_id}",
    status_code=204,
    dependencies=[allow(Role.manager, Role.admin, to=N_("remove family contacts"))],
)
def delete_contact(resident_id: int, contact_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> None:
    """Remove a family contact (managers and admins)."""
    service.delete_contact(session=session, actor=actor, resident_id=resident_id, contact_id=contact_id, now=now)
    session.commit()


@router.get(
    "/{resident_id}/home-code",
    response_model=HomeCodePublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("print home codes"))],
)
def get_home_code(resident_id: int, actor: ActorDep, session: SessionDep, rules: VisitRulesDep) -> HomeCodePublic:
    """The resident's current home code (none before the first printing or once revoked)."""
    return home_code.current_code(session=session, actor=actor, resident_id=resident_id, key=rules.home_code_key)


@router.post(
    "/{resident_id}/home-code",
    response_model=HomeCodePublic,
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("print home codes"))],
)
def print_home_code(
    resident_id: int, actor: ActorDep, session: SessionDep, rules: VisitRulesDep, now: NowDep
) -> HomeCodePublic:
    """Print the home code again: a new code, and every earlier copy stops verifying."""
    key = rules.home_code_key
    code = home_code.print_code(session=session, actor=actor, resident_id=resident_id, key=key, now=now)
    session.commit()
    return code


@router.delete(
    "/{resident_id}/home-code",
    response_model=HomeCodePublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("print home codes"))],
)
def revoke_home_code(
    resident_id: int, actor: ActorDep, session: SessionDep, rules: VisitRulesDep, now: NowDep
) -> HomeCodePublic:
    """Revoke the home code (a card lost or taken): no copy verifies until it is printed again."""
    code = home_code.revoke_code(
        session=session, actor=actor, resident_id=resident_id, key=rules.home_code_key, now=now
    )
    session.commit()
    return code
