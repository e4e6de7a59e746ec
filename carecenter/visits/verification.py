"""Visit verification: what a payer asks of each visit before it pays for it.

Electronic visit verification (the US 21st Century Cures Act §12006 made it law for home care
paid by Medicaid; Chinese long-term-care insurance funds check GPS and photos the same way) asks
six elements of every visit: the type of service, who received it, who gave it, the date, where
it started and ended, and when it started and ended, and whether each was captured by the system
or entered by hand. A visit is verified when it has all six and both its ends were captured by
the system: the tablet's GPS within the center's tolerance of the home, or the home code (a QR
code kept in the home, `carecenter.residents.home_code`). A time entered or corrected by hand
makes the visit manual for good. Anything else goes to the manager's exception queue.
"""

from dataclasses import dataclass
from enum import StrEnum

from carecenter.visits.models import Visit, VisitStatus
from carecommon.i18n import N_


class Method(StrEnum):
    """How one end of a visit (its start or its end) was captured."""

    gps = "gps"  # the tablet's position, within the tolerance of the home or not (the distance is kept)
    home_code = "home_code"  # the resident's home code, scanned or typed from the card
    manual = "manual"  # entered or corrected by hand
    none = "none"  # no position and no code


class ExceptionState(StrEnum):
    open = "open"  # waiting for a manager
    approved = "approved"  # paid as it is, with the manager's reason
    rejected = "rejected"  # not claimed
    excluded = "excluded"  # left out of a closed month's claim, open or not


class Verification(StrEnum):
    verified = "verified"
    manual = "manual"
    exception = "exception"


# What the exception queue says of a visit (msgids; the page translates them).
PROBLEMS = {
    "far_start": N_("started outside the tolerance from home"),
    "far_end": N_("ended outside the tolerance from home"),
    "no_start_place": N_("no place at the start"),
    "no_end_place": N_("no place at the end"),
    "manual": N_("a time entered by hand"),
    "no_worker": N_("who gave the service is missing"),
    "no_service": N_("no service was given"),
    "no_times": N_("a start or end time is missing"),
    "no_confirmation": N_("the resident's confirmation is missing"),
}


@dataclass(frozen=True)
class End:
    """One end of a visit as captured: the method and the distance from home when by GPS."""

    method: Method
    distance_m: float | None


def method_of(*, code_verified: bool, distance_m: float | None) -> Method:
    """The home code wins over GPS (it proves the worker was inside); no position is `none`."""
    if code_verified:
        return Method.home_code
    return Method.gps if distance_m is not None else Method.none


def problems(visit: Visit, *, tolerance_m: float, confirmation_missing: bool) -> list[str]:
    """What keeps a completed visit from being verified (keys of PROBLEMS, in a fixed order)."""
    found = []
    for key, method, distance in (
        ("start", visit.check_in_method, visit.check_in_distance_m),
        ("end", visit.check_out_method, visit.check_out_distance_m),
    ):
        if method == Method.gps and distance is not None and distance > tolerance_m:
            found.append(f"far_{key}")
        elif method in (None, Method.none):
            found.append(f"no_{key}_place")
    if Method.manual in (visit.check_in_method, visit.check_out_method) or visit.manual_reason:
        found.append("manual")
    if visit.worker_id is None:
        found.append("no_worker")
    if not any(task.done for task in visit.tasks):
        found.append("no_service")
    if visit.checked_in_at is None or visit.checked_out_at is None:
        found.append("no_times")
    if confirmation_missing:
        found.append("no_confirmation")
    return found


def assess(visit: Visit, *, tolerance_m: float, confirmation_missing: bool) -> None:
    """On a completed visit: its exception opened (or reopened, after a change by hand) or cleared."""
    if visit.status != VisitStatus.completed:
        return
    found = problems(visit, tolerance_m=tolerance_m, confirmation_missing=confirmation_missing)
    visit.exception_problems = found
    if not found:
        visit.exception = None
    elif visit.exception not in (ExceptionState.open, ExceptionState.excluded) or "manual" in found:
        visit.exception = ExceptionState.open
        visit.exception_reason = visit.exception_decided_by = visit.exception_decided_at = None


def verification(visit: Visit) -> Verification | None:
    """What the visit shows: verified, manual (never verified again) or an exception; None until done.
    Verified needs both ends captured by the system and nothing left for the queue."""
    if visit.status != VisitStatus.completed:
        return None
    ends = (visit.check_in_method, visit.check_out_method)
    if visit.manual_reason or Method.manual in ends:
        return Verification.manual
    captured = all(end in (Method.gps, Method.home_code) for end in ends)
    clear = not visit.exception_problems and visit.exception is None
    return Verification.verified if captured and clear else Verification.exception
