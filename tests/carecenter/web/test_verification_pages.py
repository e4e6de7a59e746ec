"""Visit verification in the console: the home code printed from the resident's page (its code
verifying a check-in from the tablet's form), the exception queue decided row by row, and a
month that closes only with its queue empty or its exceptions left out of the claim."""

import re
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from carecenter.access import Role
from carecenter.audit.models import AuditEvent
from carecenter.residents.models import Resident
from carecenter.service_records.models import MonthClose
from carecenter.visits.models import Visit
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import make_center, make_resident, make_staff, make_visit

OCTOBER = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
HOME = {"latitude": 39.7601, "longitude": 116.2101}


def far_visit(session: Session, resident: Resident, worker_id: int | None, **more: Any) -> Visit:
    """A completed visit of October that did not verify: checked in 900 m from home."""
    values = {
        "worker_id": worker_id,
        "status": "completed",
        "checked_in_at": OCTOBER,
        "checked_out_at": OCTOBER.replace(hour=2),
        "check_in_method": "gps",
        "check_out_method": "gps",
        "check_in_distance_m": 900.0,
        "check_out_distance_m": 20.0,
        "far_from_home": True,
        "exception": "open",
        "exception_problems": ["far_start"],
        "tasks": [{"service": "meals", "done": True}],
    }
    return make_visit(session, resident=resident, start=OCTOBER, **(values | more))


def test_a_printed_home_code_verifies_the_tablets_check_in(client: TestClient, session: Session, clock: Clock) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center, **HOME)
    manager = make_staff(session, center=center, role=Role.manager)
    worker = make_staff(session, center=center)
    csrf = web_login(client, manager.username)
    assert f'href="/manage/residents/{resident.id}/home-code"' in client.get(f"/residents/{resident.id}").text
    page = client.get(f"/manage/residents/{resident.id}/home-code")
    assert 'id="no-code"' in page.text and "<figure>" not in page.text
    printed = client.post(f"/manage/residents/{resident.id}/home-code", data={"csrf": csrf})
    assert printed.status_code == 200 and "<figure><svg" in printed.text  # followed back to the card
    code = re.search(r'id="code-text">([^<]+)<', printed.text)
    assert code is not None and code[1].startswith(f"CCH1-{resident.id}-1-")
    assert 'id="revoke-code"' in printed.text

    visit = make_visit(session, resident=resident, start=clock.now, worker_id=worker.id)
    client.cookies.clear()
    tablet = web_login(client, worker.username)
    far = {"latitude": "39.80", "longitude": "116.21"}  # 4 km off: the code, not GPS, verifies
    answer = client.post(
        f"/visits/{visit.id}/check-in", data={"csrf": tablet, "home_code": f" {code[1].lower()} "} | far
    )
    assert answer.status_code == 200
    session.expire_all()
    assert session.get(Visit, visit.id).check_in_method == "home_code"  # type: ignore[union-attr]

    client.cookies.clear()
    csrf = web_login(client, manager.username)
    revoked = client.post(f"/manage/residents/{resident.id}/home-code", data={"csrf": csrf, "action": "revoke"})
    assert 'id="no-code"' in revoked.text
    again = client.post(f"/manage/residents/{resident.id}/home-code", data={"csrf": csrf})
    assert code[1] not in again.text and f"CCH1-{resident.id}-2-" in again.text  # a new printing
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity_id == resident.id)).all()
    assert [a for a in actions if a.startswith("resident.home_code")] == [
        "resident.home_code.print",
        "resident.home_code.revoke",
        "resident.home_code.print",
    ]


def test_the_queue_is_decided_and_the_month_closes_only_when_it_is_empty_or_excluded(
    client: TestClient, session: Session
) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center, name="孙奶奶")
    worker = make_staff(session, center=center, name="周护工")
    decided, left = far_visit(session, resident, worker.id), far_visit(session, resident, worker.id)
    make_visit(session, resident=resident, start=OCTOBER, status="completed", exception=None)  # verified
    csrf = web_login(client, make_staff(session, center=center, role=Role.manager).username)

    queue = client.get("/visit-exceptions?month=2026-10")
    assert queue.status_code == 200
    assert queue.text.count('class="decide"') == 2 and "周护工" in queue.text and "孙奶奶" in queue.text
    assert "开始位置超出离家允许范围 (900 m)" in queue.text  # the problem, with its distance

    short = client.post(
        f"/visit-exceptions/{decided.id}", data={"csrf": csrf, "decision": "reject", "reason": "x", "month": "2026-10"}
    )
    assert short.status_code == 200 and 'role="alert"' in short.text  # told on the queue, nothing saved
    session.expire_all()
    assert session.get(Visit, decided.id).exception == "open"  # type: ignore[union-attr]
    rejected = client.post(
        f"/visit-exceptions/{decided.id}",
        data={"csrf": csrf, "decision": "reject", "reason": "定位在邻村，未入户", "month": "2026-10"},
    )
    assert rejected.text.count('class="decide"') == 1
    listed = client.get("/visit-exceptions?month=2026-10&state=rejected")
    assert "定位在邻村，未入户" in listed.text and 'class="decide"' not in listed.text

    report = client.get("/reports/monthly?month=2026-10")
    assert 'id="exceptions-open"' in report.text and 'name="exclude_exceptions"' in report.text
    assert 'id="verified"' in report.text  # the verified share: 1 of 3 completed
    refused = client.post("/reports/monthly/close", data={"month": "2026-10", "csrf": csrf})
    assert 'id="closed"' not in refused.text and session.exec(select(MonthClose)).all() == []
    closed = client.post(
        "/reports/monthly/close", data={"month": "2026-10", "csrf": csrf, "exclude_exceptions": "true"}
    )
    assert 'id="closed"' in closed.text
    session.expire_all()
    assert session.exec(select(MonthClose)).one().exceptions_excluded == 1
    assert session.get(Visit, left.id).exception == "excluded"  # type: ignore[union-attr]
    hostile = client.post(
        f"/visit-exceptions/{left.id}",
        data={"csrf": csrf, "decision": "maybe", "reason": "<script>x</script>", "month": "../../x"},
        follow_redirects=False,
    )
    assert hostile.status_code == 303 and hostile.headers["location"].startswith("/visit-exceptions?month=&error=")
