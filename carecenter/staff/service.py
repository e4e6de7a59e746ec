"""Staff accounts: managers run their center's, admins everyone's."""

from datetime import datetime

from sqlmodel import Session, col, or_, select

from carecenter.access import Actor, Role
from carecenter.audit.service import record_event
from carecenter.centers.models import Center
from carecenter.errors import Conflict, Forbidden, InvalidField, NotFound
from carecenter.pagination import Page, PageParams, paginate
from carecenter.passwords import hash_password
from carecenter.staff.models import Language, Staff, StaffCreate, StaffUpdate
from carecenter.staff.sessions import revoke_all_sessions
from carecenter.updates import changes_for


def list_staff(
    *,
    session: Session,
    actor: Actor,
    page: PageParams,
    center_id: int | None = None,
    role: Role | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> Page[Staff]:
    """Staff of the actor's center (any center for admins), by name."""
    stmt = select(Staff)
    stmt = actor.scoped(stmt, Staff.center_id, center_id)
    if role is not None:
        stmt = stmt.where(Staff.role == role)
    if active is not None:
        stmt = stmt.where(Staff.active == active)
    if q:
        pattern = f"%{q.strip()}%"
        stmt = stmt.where(or_(col(Staff.name).ilike(pattern), col(Staff.username).ilike(pattern)))
    return paginate(session, stmt.order_by(col(Staff.name), col(Staff.id)), page)


def get_staff(*, session: Session, actor: Actor, staff_id: int) -> Staff:
    """One staff member of a center the actor may see (admins without a center: admins only)."""
    staff = session.get(Staff, staff_id)
    if staff is None or not (actor.is_admin or (staff.center_id is not None and actor.sees_center(staff.center_id))):
        raise NotFound("staff member not found")
    return staff


def _check_assignment(*, session: Session, actor: Actor, role: Role, center_id: int | None) -> None:
    """Who may hold which role where: managers hire into their own center, never admins."""
    if role == Role.admin and not actor.is_admin:
        raise Forbidden("Only an admin may create or promote admins.")
    if role != Role.admin and center_id is None:
        raise InvalidField(["body", "center_id"], "care workers and managers belong to a center")
    if center_id is not None:
        actor.require_visible(center_id, "center")
        if session.get(Center, center_id) is None:
            raise InvalidField(["body", "center_id"], "there is no center {id}", id=center_id)


def create_staff(*, session: Session, actor: Actor, data: StaffCreate, now: datetime) -> Staff:
    """A new staff account (managers for their center, admins anywhere)."""
    center_id = data.center_id if actor.is_admin else actor.center_for_new_record(data.center_id)
    _check_assignment(session=session, actor=actor, role=data.role, center_id=center_id)
    if session.exec(select(Staff.id).where(Staff.username == data.username)).first() is not None:
        raise Conflict("The username {username} is taken; choose another.", username=data.username)
    staff = Staff.model_validate(
        data.model_dump(exclude={"password"}),
        update={"center_id": center_id, "password_hash": hash_password(data.password), "created_at": now},
    )
    session.add(staff)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="staff.create",
        entity_type="staff",
        entity_id=staff.id,
        center_id=staff.center_id,
        now=now,
    )
    return staff


def update_staff(*, session: Session, actor: Actor, staff_id: int, data: StaffUpdate, now: datetime) -> Staff:
    """Change a staff account; deactivating it or setting its password ends its sessions."""
    staff = get_staff(session=session, actor=actor, staff_id=staff_id)
    if staff.role == Role.admin and not actor.is_admin:
        raise Forbidden("Only an admin may change an admin's account.")
    changes = changes_for(staff, data)
    role = Role(changes.get("role", staff.role))
    center_id = changes.get("center_id", staff.center_id)
    if "center_id" in changes and not actor.is_admin and center_id != actor.center_id:
        raise NotFound("center not found")
    _check_assignment(session=session, actor=actor, role=role, center_id=center_id)
    if staff.id == actor.staff_id and (changes.get("active") is False or "role" in changes):
        raise Forbidden("You cannot deactivate yourself or change your own role.")
    password = changes.pop("password", None)
    if password is not None:
        staff.password_hash = hash_password(password)
    staff.sqlmodel_update(changes)
    session.add(staff)
    assert staff.id is not None
    if password is not None or changes.get("active") is False:
        revoke_all_sessions(session=session, staff_id=staff.id, now=now)
    fields = set(changes) | ({"password"} if password is not None else set())
    record_event(
        session=session,
        actor=actor,
        action="staff.update",
        entity_type="staff",
        entity_id=staff.id,
        center_id=staff.center_id,
        now=now,
        changed_fields=fields,
    )
    return staff


def active_care_workers(session: Session, *, center_id: int | None) -> list[Staff]:
    """A center's active care workers by name (for assigning visits and plans)."""
    stmt = select(Staff).where(Staff.center_id == center_id, Staff.role == Role.care_worker, col(Staff.active))
    return list(session.exec(stmt.order_by(col(Staff.name))).all())


def set_language(*, session: Session, actor: Actor, language: Language) -> None:
    """The language a staff member reads the pages and messages in (their own choice)."""
    staff = session.get(Staff, actor.staff_id)
    if staff is None:
        raise NotFound("staff member not found")
    staff.language = language
    session.add(staff)
