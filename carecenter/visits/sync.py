"""What the tablet recorded, sent in order (at once, or later when it had no signal): each action
carries the tablet's own idempotency key and time, so a replay is a duplicate, never a second
record, and the time kept is when it happened.

An action that can no longer be applied (the visit was given to someone else or cancelled
meanwhile, a time outside the window) is answered "conflict" or "refused" in plain words, and
what the worker entered is kept on the visit as a note for the manager: nothing is lost. The
caller commits after each action (and rolls back a refused one before recording the refusal).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session, select

from carecenter.access import Actor
from carecenter.errors import Conflict, DomainError, Forbidden, InvalidField, NotFound, field_errors
from carecenter.fields import Flag, Instant, WholeNumber
from carecenter.residents.models import Resident
from carecenter.staff.models import Staff
from carecenter.visits import actions
from carecenter.visits.actions import ACTIONS, Tablet
from carecenter.visits.models import ClientAction, ConflictNote, Visit

# What a tablet queues: every action but a manager's correction (`actions.ACTIONS` has them all).
Kind = Literal["check_in", "check_out", "task", "notes", "vitals", "concern", "photo", "confirm", "medication"]
KEY = r"^[A-Za-z0-9_-]{8,64}$"
BINARY = ("jpeg", "signature_png")  # not copied into a conflict note
# What a conflict note keeps of each kind of action: its known fields, each cut to NOTE_TEXT.
NOTE_FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(name for name in model.model_fields if name not in ("action", "at")) for kind, model in ACTIONS.items()
}
NOTE_TEXT = 1000
MAX_CONFLICT_NOTES = 20  # a visit's page stays small whatever a tablet sends


class TabletAction(BaseModel):
    key: str = Field(pattern=KEY, description="Made by the tablet; the same key sent again is a duplicate")
    kind: Kind
    visit_id: WholeNumber = Field(ge=1, le=2**31 - 1, description="The visit (ids are 32-bit)")
    at: Instant = Field(description="When it happened on the tablet")
    offline: Flag = Field(default=False, description="Recorded without a signal")
    data: dict[str, Any] = Field(default_factory=dict)


class TabletActions(BaseModel):
    actions: list[TabletAction] = Field(min_length=1, max_length=50)


class ActionResult(BaseModel):
    key: str
    result: Literal["done", "duplicate", "conflict", "refused"]
    message: str = ""
    fields: dict[str, str] = Field(default_factory=dict, description="A refused value's message, by field")


def already_done(session: Session, actor: Actor, key: str) -> ActionResult | None:
    done = session.exec(
        select(ClientAction).where(ClientAction.staff_id == (actor.staff_id or 0), ClientAction.key == key)
    ).first()
    return ActionResult(key=key, result="duplicate", message=done.message) if done else None


def apply_action(session: Session, actor: Actor, action: TabletAction, tablet: Tablet, now: datetime) -> None:
    """Do what the tablet recorded, at the tablet's time (within the window); raises DomainError
    or ValidationError when it cannot be done. Adds and flushes; the caller commits."""
    done = actions.parse(action.kind, action.data, action.at)
    actions.apply(session, actor, action.visit_id, done, tablet=tablet, now=now, offline=action.offline)


@dataclass(frozen=True)
class Refusal:
    result: Literal["conflict", "refused"]
    message: str
    fields: dict[str, str]


def why_not(exc: Exception, language: str) -> Refusal:
    """A refusal in the worker's words: "conflict" when the visit changed under them, else "refused"
    (with the message of each refused field, to show next to it)."""
    if isinstance(exc, ValidationError):
        fields = field_errors(exc.errors(include_url=False), language)
        return Refusal("refused", "; ".join(fields.values()), fields)
    assert isinstance(exc, DomainError)
    if isinstance(exc, Conflict | Forbidden | NotFound):
        return Refusal("conflict", exc.text(language), {})
    fields = {str(exc.field): exc.text(language)} if isinstance(exc, InvalidField) else {}
    return Refusal("refused", exc.text(language), fields)


def record_action(
    session: Session, actor: Actor, action: TabletAction, refusal: Refusal | None, now: datetime
) -> ActionResult:
    """Remember the key and the answer. What could not be applied because the visit changed, or was
    recorded offline and then refused, is kept on the visit for the manager (a value refused while
    the worker is still there is shown to them next to the field instead)."""
    result = refusal.result if refusal else "done"
    message = refusal.message if refusal else ""
    visit = session.get(Visit, action.visit_id)
    session.add(
        ClientAction(
            staff_id=actor.staff_id or 0,
            key=action.key,
            kind=action.kind,
            visit_id=visit.id if visit else None,
            result=result,
            message=message[:500],
            received_at=now,
        )
    )
    keep = result == "conflict" or (result == "refused" and action.offline)
    if (
        keep
        and visit is not None
        and _may_note(session, actor, visit)
        and len(visit.conflict_notes) < MAX_CONFLICT_NOTES
    ):
        staff = session.get(Staff, actor.staff_id) if actor.staff_id else None
        note = ConflictNote(
            at=action.at,
            received_at=now,
            worker=staff.name if staff else actor.username,
            kind=action.kind,
            entered=_entered(action),
            why=message[:NOTE_TEXT],
        )
        visit.conflict_notes = [*visit.conflict_notes, note]
        session.add(visit)
    session.flush()
    return ActionResult(key=action.key, result=result, message=message, fields=refusal.fields if refusal else {})


def _entered(action: TabletAction) -> dict[str, Any]:
    """What the worker entered, as a note keeps it: the action's known fields, text cut, no pictures."""
    kept: dict[str, Any] = {}
    for name in NOTE_FIELDS[action.kind]:
        value = action.data.get(name)
        if name in BINARY:
            if value:
                kept["attachment"] = "not attached"  # the picture itself is not kept without the visit
        elif isinstance(value, str):
            kept[name] = value[:NOTE_TEXT]
        elif isinstance(value, bool | int | float):
            kept[name] = value
    return kept


def _may_note(session: Session, actor: Actor, visit: Visit) -> bool:
    """Notes go on visits of the actor's center, and for a care worker only on their own: the visit is
    (or was) theirs, or the resident is theirs."""
    if not actor.sees_center(visit.center_id):
        return False
    if actor.is_manager_or_admin or visit.worker_id == actor.staff_id:
        return True
    resident = session.get(Resident, visit.resident_id)
    if resident is not None and resident.primary_worker_id == actor.staff_id:
        return True
    earlier = select(ClientAction.id).where(
        ClientAction.staff_id == (actor.staff_id or 0), ClientAction.visit_id == visit.id, ClientAction.result == "done"
    )
    return session.exec(earlier.limit(1)).first() is not None


def apply_actions(
    session: Session, actor: Actor, actions: TabletActions, tablet: Tablet, now: datetime, language: str
) -> list[ActionResult]:
    """Each action in order, each in its own transaction: done, duplicate, or refused with the
    reason (and what was entered kept on the visit). The API and the tablet's page both apply
    a tablet's queue through this."""
    results = []
    for action in actions.actions:
        earlier = already_done(session, actor, action.key)
        if earlier is not None:
            results.append(earlier)
            continue
        try:
            apply_action(session, actor, action, tablet, now)
            result = record_action(session, actor, action, None, now)
        except (DomainError, ValidationError) as exc:
            session.rollback()
            result = record_action(session, actor, action, why_not(exc, language), now)
        session.commit()
        results.append(result)
    return results
