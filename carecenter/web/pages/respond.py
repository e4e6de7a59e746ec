"""The page behind the link in an alert SMS: the whole story, and the answers that still make sense.

No login and no script: the link's signed token is the key (one alert, one recipient, one role,
until it expires). Plain HTML that a phone (and WeChat's built-in browser) opens fast, and that
keeps itself up to date while the alert is open (a small script the reader can stop; without it, a
Refresh link). Staff can take charge, say they are on site and close
the alert with its outcome; family can say they are going, cannot go, or want a call. Every
answer is on the alert's timeline with the channel "link".
"""

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from carecenter.alerts import service as alerts
from carecenter.alerts.models import ACTIVE_STATUSES, Alert, AlertStatus, Channel, Outcome
from carecenter.alerts.story import alert_story
from carecenter.context import context_of
from carecenter.deps import NowDep, SessionDep
from carecenter.errors import Conflict
from carecenter.messaging.recipients import RecipientRef
from carecenter.staff.models import Staff
from carecenter.web.render import render
from carecommon.i18n import DEFAULT_LANGUAGE, N_, language_of
from notifications.links import last_answer, verify_link_token
from notifications.models import ANSWERS_FOR_ROLE, LinkAnswer, LinkRole, ResponseLink, ResponseLinkAnswer

router = APIRouter(include_in_schema=False)
REFRESH_SECONDS = 15
EXPIRED = N_("This link has expired; please call the center.")
UNKNOWN = N_("This link is not valid.")
ANSWER_WORDS = {
    LinkAnswer.acknowledge: N_("OK, I'm handling it"),
    LinkAnswer.on_site: N_("I'm with the resident"),
    LinkAnswer.resolve: N_("It is over"),
    LinkAnswer.going: N_("I'm going"),
    LinkAnswer.cannot_go: N_("I can't go"),
    LinkAnswer.call_me: N_("Please call me"),
}


def _open(session: Session, request: Request, token: str, now: datetime) -> ResponseLink | HTMLResponse:
    secret = context_of(request).settings.secret_key.get_secret_value().encode()
    link_id = verify_link_token(token, secret)
    link = session.get(ResponseLink, link_id) if link_id is not None else None
    if link is None:
        return _notice(request, DEFAULT_LANGUAGE, UNKNOWN, 404)
    if now >= link.expires_at:
        return _notice(request, link.language, EXPIRED, 410)
    if link.role == LinkRole.staff:
        ref = RecipientRef.parse(link.recipient_ref)
        staff = session.get(Staff, ref.id) if ref is not None and ref.kind == "staff" else None
        if staff is None or not staff.active:  # someone who left keeps no window on residents' lives
            return _notice(request, link.language, EXPIRED, 410)
    return link


def same_origin(request: Request) -> bool:
    """A form posted from another site is refused (the page has no session, so no CSRF token: the
    browser's Origin header is the check). A request without one (an old phone browser) passes."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    ours = urlsplit(context_of(request).settings.public_url)
    theirs = urlsplit(origin)
    return (theirs.scheme, theirs.netloc) in {(ours.scheme, ours.netloc), (request.url.scheme, request.url.netloc)}


def _notice(request: Request, language: str, message: str, status_code: int) -> HTMLResponse:
    return render(
        request, "respond.html", None, status_code=status_code, language=language_of(language), notice=message
    )


def _answers(link: ResponseLink, alert: Alert) -> list[str]:
    """What this person may still answer: nothing once it is over, on site once, and so on."""
    if alert.status not in ACTIVE_STATUSES:
        return []
    if link.role == LinkRole.family:
        return [LinkAnswer.going, LinkAnswer.cannot_go, LinkAnswer.call_me]
    answers = [LinkAnswer.acknowledge] if alert.status == AlertStatus.open else []
    answers += [LinkAnswer.on_site] if alert.on_site_at is None else []
    return [*answers, LinkAnswer.resolve]


def _page(
    request: Request, session: Session, link: ResponseLink, now: datetime, *, answered: str | None = None
) -> HTMLResponse:
    alert = session.get(Alert, link.alert_id)
    story = alert_story(session, alert, now) if alert is not None else None
    if story is None:
        return _notice(request, link.language, UNKNOWN, 404)
    me = story.names.get(link.recipient_ref or "", "")  # a link is made only for someone the alert paged
    last = last_answer(session, link)
    return render(
        request,
        "respond.html",
        None,
        language=language_of(link.language),
        time_zone=story.center.time_zone,
        story=story,
        staff=link.role == LinkRole.staff,
        answers=[(a, ANSWER_WORDS[LinkAnswer(a)]) for a in _answers(link, story.alert)],
        outcomes=list(Outcome),
        answered=ANSWER_WORDS[LinkAnswer(shown)] if (shown := answered or last) else None,
        someone_going=story.someone_going(me),
        refresh=REFRESH_SECONDS if story.alert.status in ACTIVE_STATUSES else None,
        now=now,
    )


@router.get("/r/{token}", response_class=HTMLResponse)
def response_page(token: str, request: Request, session: SessionDep, now: NowDep) -> HTMLResponse:
    """What happened, to whom, where, who is doing what; and the answers that still make sense."""
    link = _open(session, request, token, now)
    if isinstance(link, HTMLResponse):
        return link
    return _page(request, session, link, now)


@router.post("/r/{token}", response_class=HTMLResponse)
def answer(
    token: str,
    request: Request,
    session: SessionDep,
    now: NowDep,
    answer: Annotated[str, Form(max_length=20)],
    outcome: Annotated[str | None, Form(max_length=30)] = None,
) -> HTMLResponse:
    """Record an answer given through the link; one that no longer makes sense changes nothing."""
    if not same_origin(request):
        return _notice(request, DEFAULT_LANGUAGE, UNKNOWN, 403)
    link = _open(session, request, token, now)
    if isinstance(link, HTMLResponse):
        return link
    alert = alerts.lock_alert(session, link.alert_id)
    if alert is None or answer not in _answers(link, alert):
        response = _page(request, session, link, now)
        # One of this person's answers that no longer makes sense: 409; anything else: 422.
        mine = ANSWERS_FOR_ROLE[LinkRole(link.role)]
        response.status_code = 409 if alert is not None and answer in mine else 422
        return response
    if answer == LinkAnswer.resolve and outcome not in list(Outcome):
        response = _page(request, session, link, now)
        response.status_code = 422
        return response
    assert link.id is not None
    try:
        applied = _act(session, request, link, alert, LinkAnswer(answer), outcome, now)
    except Conflict:  # someone closed it meanwhile
        session.rollback()
        return _page(request, session, link, now)
    if not applied:  # the same answer again, or one this person may no longer give: nothing to confirm
        session.rollback()
        response = _page(request, session, link, now)
        response.status_code = 409
        return response
    session.add(ResponseLinkAnswer(link_id=link.id, answer=answer, answered_at=now))
    session.commit()
    return _page(request, session, link, now, answered=answer)


def _act(
    session: Session,
    request: Request,
    link: ResponseLink,
    alert: Alert,
    answer: LinkAnswer,
    outcome: str | None,
    now: datetime,
) -> bool:
    """Apply the answer; False when it changed nothing (never confirmed to the person then)."""
    ref = RecipientRef.parse(link.recipient_ref)
    if link.role == LinkRole.family:
        return alerts.record_family_answer(
            session, alert_id=alert.id or 0, ref=link.recipient_ref, answer=answer, now=now
        )
    staff_id = ref.id if ref is not None and ref.kind == "staff" else None
    staff = session.get(Staff, staff_id) if staff_id is not None else None
    if not alerts.staff_may_answer(staff, alert):
        return False
    if answer == LinkAnswer.acknowledge:
        alerts.acknowledge(session, alert=alert, staff_id=staff_id, channel=Channel.link, now=now)
    elif answer == LinkAnswer.on_site:
        alerts.mark_on_site(session, alert=alert, staff_id=staff_id, channel=Channel.link, now=now)
    else:
        messaging = context_of(request).alert_messaging
        alerts.resolve(
            session,
            messaging,
            alert=alert,
            staff_id=staff_id,
            outcome=outcome or "other",
            note="",
            channel=Channel.link,
            now=now,
        )
    return True
