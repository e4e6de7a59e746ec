"""Check-ins from devices (X-Device-Key) and residents' readings for charts."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import APIKeyHeader
from sqlmodel import Session

from carecenter.context import AppContext, context_of
from carecenter.deps import ActorDep, NowDep, SessionDep
from carecenter.devices.service import require_key
from carecenter.errors import InvalidField
from carecenter.fields import Instant
from carecenter.ingest import service
from carecenter.ingest.batcher import CheckinBatcher
from carecenter.ingest.fast import batch_answer_json
from carecenter.pagination import Page, PageParams, page_params
from carecenter.readings.models import (
    BatchAnswer,
    BatchIn,
    CheckinAnswer,
    CheckinResult,
    Reading,
    ReadingIn,
    ReadingKind,
    ReadingPublic,
)

router = APIRouter(tags=["check-ins"])
device_key = APIKeyHeader(name="X-Device-Key", auto_error=False, description="The device's (or gateway's) key")


DeviceKeyDep = Annotated[str | None, Depends(device_key)]


@router.post(
    "/api/v1/checkins",
    response_model=CheckinAnswer,
    status_code=201,
    responses={200: {"model": CheckinAnswer, "description": "Already stored (duplicate event_id)"}},
)
async def post_checkin(
    reading: ReadingIn, request: Request, response: Response, key: DeviceKeyDep, now: NowDep
) -> CheckinAnswer:
    """Post one reading; 201 once it is stored, 200 if this event_id was stored before."""
    batcher: CheckinBatcher = context_of(request).checkins
    answer = await batcher.submit(require_key(key), reading.model_dump(mode="json", exclude_none=True), now)
    if answer.result == CheckinResult.rejected:
        raise InvalidField(["body"], "The reading was rejected: {reason}", reason=answer.reason or "-")
    if answer.result == CheckinResult.duplicate:
        response.status_code = 200
    return service.as_single(answer)


@router.post("/api/v1/checkins/batch", response_model=BatchAnswer)
def post_batch(batch: BatchIn, request: Request, key: DeviceKeyDep, session: SessionDep, now: NowDep) -> Response:
    """Post up to 1,000 readings; the answer says accepted, duplicate or rejected (why) for each."""
    answer = store_batch(session, context_of(request), key, batch.readings, now)
    return Response(answer, media_type="application/json")


def store_batch(session: Session, context: AppContext, key: str | None, readings: list[Any], now: datetime) -> bytes:
    """Store a batch for the device or gateway the key belongs to and commit; the answer's JSON
    (`BatchAnswer`'s schema, encoded without a model object per item). The documented route and
    the plain one (`checkin_route`) both answer through this."""
    poster = service.poster_of(session, key)
    posts = [(poster, item) for item in readings]
    ingested = service.ingest(session=session, messaging=context.alert_messaging, posts=posts, now=now)
    session.commit()
    service.count_committed(ingested.answers)
    context.checkins.note_seen(ingested.seen, roll_ups=ingested.stored)
    return batch_answer_json(ingested.answers)


@router.get("/api/v1/residents/{resident_id}/readings", response_model=Page[ReadingPublic], tags=["residents"])
def list_readings(
    resident_id: int,
    actor: ActorDep,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    since: Instant | None = None,
    until: Instant | None = None,
    kind: ReadingKind | None = None,
) -> Page[Reading]:
    """A resident's readings in a time range, newest first (for charts)."""
    return service.list_readings(
        session=session, actor=actor, resident_id=resident_id, page=page, since=since, until=until, kind=kind
    )
