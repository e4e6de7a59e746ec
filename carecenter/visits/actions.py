"""What is done to a visit, as one typed value, validated once and applied by one function.

The JSON API (one route per action), the tablet's form posts and its offline queue (`sync.py`,
fed by `queue.js`) are adapters: each turns what it received into a `VisitAction` and calls
`apply`. A rule about an action's input (a concern's note, a dose's reason) is written once, on
its model here or in the service it calls.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, field_validator
from sqlmodel import Session, SQLModel

from carecenter.access import Actor
from carecenter.fields import Instant, Text
from carecenter.media.store import MediaStore
from carecenter.messaging.outbound import AlertMessaging
from carecenter.readings.models import Reading
from carecenter.settings.visits import VisitRules
from carecenter.visits import proof, service
from carecenter.visits.medication import record_medication
from carecenter.visits.models import (
    Confirmation,
    MedicationRecord,
    Position,
    TaskUpdate,
    TimeCorrection,
    Visit,
    VisitNotes,
    VisitPhoto,
    VisitVitals,
)


class _Action(SQLModel):
    at: Instant | None = Field(
        default=None, description="When it happened on the device (within the last 24 h); defaults to now"
    )


class _Where(_Action):
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    home_code: str | None = Field(
        default=None, max_length=40, description="The resident's home code, scanned or typed (verifies this end)"
    )


class CheckIn(_Where):
    action: Literal["check_in"] = "check_in"


class CheckOut(_Where):
    action: Literal["check_out"] = "check_out"


class Task(_Action, TaskUpdate):
    action: Literal["task"] = "task"


class Notes(_Action, VisitNotes):
    action: Literal["notes"] = "notes"


class Vitals(_Action, VisitVitals):
    action: Literal["vitals"] = "vitals"


class Concern(_Action):
    action: Literal["concern"] = "concern"
    note: Text = Field(default="", max_length=1000, description="What worries the care worker (may be empty)")


class Photo(_Action):
    action: Literal["photo"] = "photo"
    jpeg: bytes = Field(description="The picture (JPEG or PNG); from the tablet's queue as base64 or a data: URL")

    @field_validator("jpeg", mode="before")
    @classmethod
    def _decoded(cls, value: Any) -> Any:
        return proof.decode_base64(value, ["body", "data", "jpeg"]) if isinstance(value, str) else value


class Confirm(_Action, Confirmation):
    action: Literal["confirm"] = "confirm"


class Medication(_Action, MedicationRecord):
    action: Literal["medication"] = "medication"


class Correction(_Action, TimeCorrection):
    """A manager's correction of the check-in and check-out times (audited with its reason)."""

    action: Literal["correction"] = "correction"


VisitAction = Annotated[
    CheckIn | CheckOut | Task | Notes | Vitals | Concern | Photo | Confirm | Medication | Correction,
    Field(discriminator="action"),
]
ACTIONS: dict[str, type[_Action]] = {
    model.model_fields["action"].default: model for model in get_args(get_args(VisitAction)[0])
}


def parse(kind: str, data: dict[str, Any], at: datetime | None) -> VisitAction:
    """The action a tablet queued (its kind is one of ACTIONS); a ValidationError names the fields
    as the form has them (no union tag in their place)."""
    return ACTIONS[kind].model_validate({**data, "action": kind, "at": at})  # type: ignore[return-value]


@dataclass(frozen=True)
class Tablet:
    """What applying an action needs from the app."""

    rules: VisitRules
    messaging: AlertMessaging
    store: MediaStore
    max_photo_bytes: int


@dataclass(frozen=True)
class Applied:
    visit: Visit
    reading: Reading | None = None  # vitals
    photo: VisitPhoto | None = None


def apply(
    session: Session,
    actor: Actor,
    visit_id: int,
    action: VisitAction,
    *,
    tablet: Tablet,
    now: datetime,
    offline: bool = False,
) -> Applied:
    """Do it, at the device's time (within the window); raises DomainError when it cannot be done.
    Adds and flushes; the caller commits."""
    if isinstance(action, Correction):  # a manager's, whose time is now
        at = now
    else:  # whose visit it is (404, 403) before whether its time is in the window (422)
        service.visit_to_work_on(session, actor, visit_id, may_take=isinstance(action, CheckIn))
        at = service.device_time(action.at, now)
    applied = _apply(session, actor, visit_id, action, tablet, at, offline, now)
    if offline and not applied.visit.recorded_offline:
        applied.visit.recorded_offline = True
        session.add(applied.visit)
    session.flush()
    return applied


def _apply(
    session: Session,
    actor: Actor,
    visit_id: int,
    action: VisitAction,
    tablet: Tablet,
    at: datetime,
    offline: bool,
    now: datetime,
) -> Applied:
    match action:
        case CheckIn() | CheckOut():
            position = Position(at=at, latitude=action.latitude, longitude=action.longitude, home_code=action.home_code)
            if isinstance(action, CheckIn):
                visit = service.check_in(
                    session=session, actor=actor, visit_id=visit_id, position=position, rules=tablet.rules, now=now
                )
            else:
                visit = service.check_out(
                    session=session,
                    actor=actor,
                    visit_id=visit_id,
                    position=position,
                    rules=tablet.rules,
                    messaging=tablet.messaging,
                    now=now,
                )
            return Applied(visit)
        case Task():
            return Applied(service.set_task(session=session, actor=actor, visit_id=visit_id, update=action))
        case Notes():
            visit = service.set_notes(
                session=session,
                actor=actor,
                visit_id=visit_id,
                notes=action.notes,
                share_with_family=action.share_with_family,
            )
            return Applied(visit)
        case Vitals():
            reading = service.record_vitals(
                session=session,
                actor=actor,
                visit_id=visit_id,
                vitals=action,
                messaging=tablet.messaging,
                now=now,
                measured_at=at,
            )
            return Applied(service.get_visit(session=session, actor=actor, visit_id=visit_id), reading=reading)
        case Concern():
            visit = service.raise_concern(
                session=session, actor=actor, visit_id=visit_id, note=action.note, messaging=tablet.messaging, now=now
            )
            return Applied(visit)
        case Photo():
            visit = service.visit_to_work_on(session, actor, visit_id)
            photo = proof.add_photo(
                session=session,
                actor=actor,
                visit=visit,
                data=action.jpeg,
                taken_at=at,
                offline=offline,
                store=tablet.store,
                max_bytes=tablet.max_photo_bytes,
                now=now,
            )
            return Applied(visit, photo=photo)
        case Confirm():
            visit = service.visit_to_work_on(session, actor, visit_id)
            proof.confirm(session=session, actor=actor, visit=visit, data=action, at=at, store=tablet.store, now=now)
            return Applied(visit)
        case Medication():
            visit = service.visit_to_work_on(session, actor, visit_id)
            record_medication(
                session=session, actor=actor, visit=visit, data=action, at=at, messaging=tablet.messaging, now=now
            )
            return Applied(visit)
        case Correction():
            visit = service.correct_times(
                session=session,
                actor=actor,
                visit_id=visit_id,
                checked_in_at=action.checked_in_at,
                checked_out_at=action.checked_out_at,
                reason=action.reason,
                rules=tablet.rules,
                now=now,
            )
            return Applied(visit)
