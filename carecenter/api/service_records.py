"""JSON endpoints: service records of a month, bulk meals, corrections, closing a month."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from carecenter.access import Role
from carecenter.deps import ActorDep, NowDep, SessionDep, allow
from carecenter.service_records import service
from carecenter.service_records.models import (
    MONTH,
    BulkMeals,
    MonthClose,
    MonthClosePublic,
    RecordAdjustment,
    ServiceRecord,
    ServiceRecordPublic,
)
from carecommon.i18n import N_

router = APIRouter(tags=["service records"])
MonthQuery = Annotated[str, Query(pattern=MONTH, description="YYYY-MM")]
MONTH_PATH = Path(pattern=MONTH, description="YYYY-MM")


@router.get(
    "/api/v1/service-records",
    response_model=list[ServiceRecordPublic],
    dependencies=[allow(Role.manager, Role.admin, to=N_("see service records"))],
)
def list_records(
    month: MonthQuery,
    actor: ActorDep,
    session: SessionDep,
    center_id: int | None = None,
    resident_id: int | None = None,
) -> list[ServiceRecord]:
    """The records a month reports (amounts in fen), each with its visit's proof and the rule that priced it."""
    return service.list_records(session=session, actor=actor, center_id=center_id, month=month, resident_id=resident_id)


@router.post(
    "/api/v1/service-records/bulk-meals",
    response_model=list[ServiceRecordPublic],
    status_code=201,
    dependencies=[allow(Role.care_worker, Role.manager, Role.admin, to=N_("record meals"))],
)
def bulk_meals(data: BulkMeals, actor: ActorDep, session: SessionDep, now: NowDep) -> list[ServiceRecord]:
    """Meals for a group at once; send a `batch_id` so that a retried request records nothing twice."""
    made = service.record_bulk_meals(session=session, actor=actor, data=data, now=now)
    session.commit()
    return made


@router.post(
    "/api/v1/service-records/{record_id}/adjust",
    response_model=ServiceRecordPublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("correct service records"))],
)
def adjust_record(
    record_id: int, data: RecordAdjustment, actor: ActorDep, session: SessionDep, now: NowDep
) -> ServiceRecord:
    """Correct a record (managers): in place while its month is open, else an adjustment in the next open month."""
    result = service.adjust_record(session=session, actor=actor, record_id=record_id, data=data, now=now)
    session.commit()
    return result


@router.post(
    "/api/v1/months/{month}/close",
    response_model=MonthClosePublic,
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("close a month"))],
)
def close_month(
    month: Annotated[str, MONTH_PATH],
    actor: ActorDep,
    session: SessionDep,
    now: NowDep,
    center_id: int | None = None,
    exclude_exceptions: Annotated[
        bool, Query(description="Close although visits wait in the exception queue: they are left out of the claim")
    ] = False,
) -> MonthClose:
    """Lock the month's records (managers); 409 if it has not ended, is already closed, or visits
    of it wait in the exception queue (unless `exclude_exceptions`)."""
    closing = service.close_month(
        session=session, actor=actor, center_id=center_id, month=month, now=now, exclude_exceptions=exclude_exceptions
    )
    session.commit()
    return closing
