"""Who is looking at a page: the staff member, as the services know them (Actor), and how they read."""

from dataclasses import dataclass, field

from carecenter.access import Actor
from carecenter.staff.models import Staff


@dataclass(frozen=True)
class WebUser:
    actor: Actor
    staff: Staff
    token: str
    language: str
    time_zone: str
    centers: list[tuple[int, str]] = field(default_factory=list)  # an admin's to choose from, by name
