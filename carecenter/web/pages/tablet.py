"""The tablet at the door, beyond check-in and the checklist: the queue of actions the tablet
sends (at once, or when the signal returns), photos, the resident's confirmation, medication, and
the pictures themselves for staff of the center."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile as StarletteUploadFile

from carecenter.deps import NowDep, SessionDep, TabletDep
from carecenter.visits import proof
from carecenter.visits import service as visits
from carecenter.visits.actions import Confirm, Medication, Photo
from carecenter.visits.sync import TabletActions, apply_actions
from carecenter.web.deps import CsrfForm, CsrfHeader, Posted, UserDep, posted
from carecenter.web.pages.worker import apply_posted

router = APIRouter(include_in_schema=False)


@router.post("/sync", response_model=None, dependencies=[CsrfHeader])
def sync_actions(
    data: TabletActions, user: UserDep, session: SessionDep, tablet: TabletDep, now: NowDep
) -> JSONResponse:
    """The tablet's queue, as the logged-in worker (the page's CSRF token in X-CSRF-Token)."""
    results = apply_actions(session, user.actor, data, tablet, now, user.language)
    return JSONResponse([r.model_dump() for r in results])


@router.post("/visits/{visit_id}/photo", response_model=None)
def add_photo(
    visit_id: int,
    user: UserDep,
    session: SessionDep,
    tablet: TabletDep,
    now: NowDep,
    form: CsrfForm,
) -> Response:
    """A photo from the camera, without script (with script the tablet's queue sends it)."""
    photo = form.get("photo")
    data = photo.file.read(tablet.max_photo_bytes + 1) if isinstance(photo, StarletteUploadFile) else b""
    return apply_posted(visit_id, user, Posted(Photo(jpeg=data), {}), session, tablet, now)


@router.post("/visits/{visit_id}/confirm", response_model=None)
def confirm(
    visit_id: int,
    user: UserDep,
    form: Annotated[Posted[Confirm], Depends(posted(Confirm))],
    session: SessionDep,
    tablet: TabletDep,
    now: NowDep,
) -> Response:
    return apply_posted(visit_id, user, form, session, tablet, now)


@router.post("/visits/{visit_id}/medication", response_model=None)
def record_medication(
    visit_id: int,
    user: UserDep,
    form: Annotated[Posted[Medication], Depends(posted(Medication))],
    session: SessionDep,
    tablet: TabletDep,
    now: NowDep,
) -> Response:
    return apply_posted(visit_id, user, form, session, tablet, now)


@router.get("/photos/{photo_id}", response_model=None)
def photo(photo_id: int, user: UserDep, session: SessionDep, tablet: TabletDep, now: NowDep) -> Response:
    data = proof.view_photo(session=session, actor=user.actor, photo_id=photo_id, store=tablet.store, now=now)
    session.commit()
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.get("/visits/{visit_id}/signature", response_model=None)
def signature(visit_id: int, user: UserDep, session: SessionDep, tablet: TabletDep, now: NowDep) -> Response:
    visit = visits.get_visit(session=session, actor=user.actor, visit_id=visit_id)
    data = proof.view_signature(session=session, actor=user.actor, visit=visit, store=tablet.store, now=now)
    session.commit()
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, no-store"})
