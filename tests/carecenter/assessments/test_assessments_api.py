"""Assessments through the API: drafts, signing, immutability, corrections, access, who is due."""

import re
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.access import Role
from carecenter.alerts.models import AlertKind
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import GBT_BEST, login, make_alert, make_assessment, make_center, make_resident, make_staff


def _new(resident_id: int | None, **overrides: Any) -> dict[str, Any]:
    return {"resident_id": resident_id, "assessed_on": "2026-11-20", "reason": "first"} | overrides


def test_an_assessor_drafts_completes_and_signs(client: TestClient, session: Session) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center)
    headers = login(client, make_staff(session, center=center, role=Role.assessor))
    half = {k: v for k, v in GBT_BEST.items() if k.startswith(("B1", "B2"))}
    draft = client.post("/api/v1/assessments", json=_new(resident.id, answers=half), headers=headers)
    assert draft.status_code == 201, draft.text
    assert (draft.json()["signed_at"], draft.json()["level"]) == (None, None)
    aid = draft.json()["id"]

    early = client.post(f"/api/v1/assessments/{aid}/sign", headers=headers)
    assert early.status_code == 422
    assert "B3.1" in early.text and "B4.5" in early.text and "B1.1" not in early.text  # names what is missing

    rest = {k: v for k, v in GBT_BEST.items() if k.startswith(("B3", "B4"))} | {"B3.9": "drowsy", "B4.4": "0"}
    patched = client.patch(f"/api/v1/assessments/{aid}", json={"answers": rest, "flags": ["dementia"]}, headers=headers)
    assert patched.status_code == 200, patched.text
    signed = client.post(f"/api/v1/assessments/{aid}/sign", headers=headers).json()
    # 90 - 1 (drowsy) - 3 (cannot go out by transport) = 86: mild; dementia raises it to moderate
    assert signed["domain_scores"] == {"B1": 32, "B2": 15, "B3": 27, "B4": 12}
    assert (signed["total"], signed["level_by_score"], signed["level"]) == (86, "mild", "moderate")
    assert signed["rules_applied"] == ["dementia"] and signed["signed_at"]


def test_a_signed_assessment_never_changes_and_a_correction_replaces_it(client: TestClient, session: Session) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center)
    headers = login(client, make_staff(session, center=center, role=Role.manager))
    first = client.post("/api/v1/assessments", json=_new(resident.id, answers=GBT_BEST, sign=True), headers=headers)
    assert first.json()["level"] == "intact"
    fid = first.json()["id"]
    assert client.patch(f"/api/v1/assessments/{fid}", json={"notes": "x"}, headers=headers).status_code == 409
    assert client.post(f"/api/v1/assessments/{fid}/sign", headers=headers).status_code == 409

    wrong_target = make_resident(session, center=center)
    refused = client.post(
        "/api/v1/assessments", json=_new(wrong_target.id, answers=GBT_BEST, corrects_id=fid), headers=headers
    )
    assert refused.status_code == 422

    fixed = GBT_BEST | {"B2.3": "1", "B2.4": "0"}  # walking was misjudged: 90 - 3 - 3 = 84
    correction = client.post(
        "/api/v1/assessments",
        json=_new(resident.id, answers=fixed, reason="correction", corrects_id=fid, sign=True),
        headers=headers,
    )
    assert correction.status_code == 201, correction.text
    assert (correction.json()["total"], correction.json()["level"]) == (84, "mild")
    history = client.get(f"/api/v1/residents/{resident.id}/assessments", headers=headers).json()
    assert [a["id"] for a in history] == [correction.json()["id"], fid]
    assert history[1]["corrected_by_id"] == correction.json()["id"]
    assert client.get(f"/api/v1/assessments/{fid}", headers=headers).json()["level"] == "intact"  # kept as it was


def test_bad_input_is_refused_with_the_field_named(client: TestClient, session: Session) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center)
    headers = login(client, make_staff(session, center=center, role=Role.manager))
    cases = [
        (_new(resident.id, answers={"B1.1": "7"}), ["body", "answers", "B1.1"]),
        (_new(resident.id, answers={"Z9": "1"}), ["body", "answers", "Z9"]),
        (_new(resident.id, flags=["vampire"]), ["body", "flags"]),
        (_new(resident.id, risk_events={"fall": -1}), ["body", "risk_events", "fall"]),
        (_new(resident.id, assessed_on="2026-12-30"), ["body", "assessed_on"]),
        (_new(resident.id, definition="nope"), ["body", "definition"]),
        (_new(resident.id, reason="because"), ["body", "reason"]),
    ]
    for body, loc in cases:
        response = client.post("/api/v1/assessments", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["detail"][0]["loc"] == loc, response.text
    chinese = client.post(
        "/api/v1/assessments",
        json=_new(resident.id, answers={"B1.1": "7"}),
        headers=headers | {"Accept-Language": "zh-CN"},
    )
    assert "B1.1" in chinese.text and "option" not in chinese.text  # the message is in Chinese


def test_care_workers_read_levels_but_do_not_assess(client: TestClient, session: Session) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center)
    made = make_assessment(session, resident=resident)
    worker = login(client, make_staff(session, center=center))
    assert client.post("/api/v1/assessments", json=_new(resident.id), headers=worker).status_code == 403
    assert client.get(f"/api/v1/assessments/{made.id}", headers=worker).status_code == 200
    elsewhere = login(client, make_staff(session, center=make_center(session), role=Role.assessor))
    assert client.get(f"/api/v1/assessments/{made.id}", headers=elsewhere).status_code == 404
    assert client.post("/api/v1/assessments", json=_new(resident.id), headers=elsewhere).status_code == 422


def test_who_is_due_for_reassessment(client: TestClient, session: Session, clock: Clock) -> None:
    center = make_center(session)
    today = date(2026, 11, 24)  # the clock's day in the center
    never = make_resident(session, center=center, name="从未评估")
    yearly = make_resident(session, center=center, name="满一年")
    make_assessment(session, resident=yearly, assessed_on=today - timedelta(days=370))
    soon = make_resident(session, center=center, name="快到期")
    make_assessment(session, resident=soon, assessed_on=today - timedelta(days=350))
    fresh = make_resident(session, center=center, name="刚评估")
    make_assessment(session, resident=fresh, assessed_on=today - timedelta(days=30))
    fell = make_resident(session, center=center, name="跌倒过")
    make_assessment(session, resident=fell, assessed_on=today - timedelta(days=60))
    make_alert(session, resident=fell, kind=AlertKind.fall, opened_at=clock.now - timedelta(days=3))
    hospital = make_resident(session, center=center, name="送医")
    make_assessment(session, resident=hospital, assessed_on=today - timedelta(days=60))
    make_alert(
        session,
        resident=hospital,
        kind=AlertKind.sos,
        opened_at=clock.now - timedelta(days=2),
        outcome="hospital_transfer",
    )
    sos_at_home = make_resident(session, center=center, name="在家处理")
    make_assessment(session, resident=sos_at_home, assessed_on=today - timedelta(days=60))
    make_alert(
        session,
        resident=sos_at_home,
        kind=AlertKind.sos,
        opened_at=clock.now - timedelta(days=2),
        outcome="handled_at_home",
    )
    corrected = make_resident(session, center=center, name="已更正")
    old = make_assessment(session, resident=corrected, assessed_on=today - timedelta(days=400))
    make_assessment(session, resident=corrected, assessed_on=today - timedelta(days=1), corrects_id=old.id)

    headers = login(client, make_staff(session, center=center, role=Role.manager))
    due = {d["resident_name"]: d for d in client.get("/api/v1/assessments/due", headers=headers).json()}
    assert set(due) == {"从未评估", "满一年", "快到期", "跌倒过", "送医"}
    assert (due["从未评估"]["why"], due["从未评估"]["overdue"]) == ("never", False)
    assert (due["满一年"]["why"], due["满一年"]["overdue"]) == ("yearly", True)
    assert (due["快到期"]["why"], due["快到期"]["overdue"]) == ("yearly", False)
    assert (due["跌倒过"]["why"], due["送医"]["why"]) == ("risk_event", "risk_event")
    assert never.id and fresh.id


def test_the_care_level_follows_the_latest_signed_assessment(client: TestClient, session: Session) -> None:
    """Signed moderate: the resident is semi-dependent from that day, shown with its date; a hand
    edit of the level is refused (assess again); an older assessment signed later changes nothing."""
    center = make_center(session)
    resident = make_resident(session, center=center, care_level="self_care", dementia=True)
    assessor = login(client, make_staff(session, center=center, role=Role.assessor))
    moderate = GBT_BEST | {"B3.9": "drowsy", "B4.4": "0"}  # 86, mild; dementia: moderate
    signed = client.post(
        "/api/v1/assessments", json=_new(resident.id, answers=moderate, flags=["dementia"], sign=True), headers=assessor
    )
    assert signed.status_code == 201 and signed.json()["level"] == "moderate", signed.text
    manager = login(client, make_staff(session, center=center, role=Role.manager))
    shown = client.get(f"/api/v1/residents/{resident.id}", headers=manager).json()
    assert (shown["care_level"], shown["care_level_assessed_on"]) == ("semi_dependent", "2026-11-20")
    by_hand = client.patch(f"/api/v1/residents/{resident.id}", json={"care_level": "dependent"}, headers=manager)
    assert by_hand.status_code == 422 and by_hand.json()["detail"][0]["loc"] == ["body", "care_level"]
    older = _new(resident.id, answers=GBT_BEST, assessed_on="2026-10-01", sign=True)
    assert client.post("/api/v1/assessments", json=older, headers=assessor).status_code == 201
    again = client.get(f"/api/v1/residents/{resident.id}", headers=manager).json()
    assert (again["care_level"], again["care_level_assessed_on"]) == ("semi_dependent", "2026-11-20")
    web_login(client, make_staff(session, center=center, role=Role.manager).username)
    page = client.get(f"/residents/{resident.id}").text
    assert re.search(r'id="care-level">护理等级: <strong>半失能</strong> ·\s*依据 2026-11-20 的能力评估', page), page[
        :2000
    ]
