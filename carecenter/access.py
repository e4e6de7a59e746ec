"""Who is acting, and the scoping rules every service applies.

Records of a center the actor may not see are reported as missing (404), never as forbidden,
so ids of other centers reveal nothing. Roles are declared on the routes (`deps.allow`,
`web.deps.page_allow`, `ManagerDep`) and checked before any lookup: their 403 is the same for
every id. A service checks only what depends on the record (its center; whose visit it is).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlmodel.sql.expression import SelectOfScalar

from carecenter.errors import Forbidden, InvalidField, NotFound
from carecommon.i18n import N_, Word

T = TypeVar("T")


class Role(StrEnum):
    care_worker = "care_worker"
    assessor = "assessor"
    manager = "manager"
    admin = "admin"


# What a missing record is called in "… not found" (the `what` of require_visible).
RECORD_NAMES = {
    "alert": N_("alert"),
    "assessment": N_("assessment"),
    "assessment form": N_("assessment form"),
    "care plan": N_("care plan"),
    "center": N_("center"),
    "device": N_("device"),
    "eligibility": N_("eligibility"),
    "photo": N_("photo"),
    "resident": N_("resident"),
    "service": N_("service"),
    "service record": N_("service record"),
    "subsidy rule": N_("subsidy rule"),
    "visit": N_("visit"),
}


@dataclass(frozen=True)
class Actor:
    staff_id: int | None  # None for the command line acting as admin
    username: str
    role: Role
    center_id: int | None  # an admin's: none, or on the pages the center they chose to work on
    client_addr: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_manager_or_admin(self) -> bool:
        return self.role in (Role.manager, Role.admin)

    def sees_center(self, center_id: int | None) -> bool:
        """None is "no such record": not found, for admins too."""
        return center_id is not None and (self.is_admin or center_id == self.center_id)

    def require_visible(self, center_id: int | None, what: str) -> None:
        """NotFound unless the actor may see records of this center."""
        if not self.sees_center(center_id):
            raise NotFound("{what} not found", what=Word(RECORD_NAMES.get(what, what)))

    def scoped(self, stmt: SelectOfScalar[T], column: Any, center_id: int | None) -> SelectOfScalar[T]:
        """A list limited to one center: the one asked for (if visible), else the actor's own (admins: all)."""
        if center_id is not None:
            self.require_visible(center_id, "center")
            return stmt.where(column == center_id)
        if not self.is_admin or self.center_id is not None:  # an admin on the pages works on one center
            return stmt.where(column == self.center_id)
        return stmt

    def require(self, *roles: Role, to: str) -> None:
        """Forbidden unless the actor has one of the roles; `to` says what was attempted."""
        if self.role not in roles:
            raise Forbidden("You are not allowed to {action}.", action=Word(to))

    def center_to_read(self, requested: int | None) -> int:
        """The one center a report or a due-list is about: the one named (if visible), else the
        actor's own; admins belong to none, so they name it."""
        if requested is None:
            if self.center_id is None:
                raise InvalidField(["query", "center_id"], "an admin must say which center")
            return self.center_id
        self.require_visible(requested, "center")
        return requested

    def center_for_new_record(self, requested: int | None) -> int:
        """The center a new record goes to: admins name it, everyone else gets their own."""
        if self.is_admin:
            chosen = requested if requested is not None else self.center_id  # the center they work on
            if chosen is None:
                raise InvalidField(["body", "center_id"], "an admin must say which center the record belongs to")
            return chosen
        if requested is not None and requested != self.center_id:
            raise NotFound("center not found")
        assert self.center_id is not None
        return self.center_id
