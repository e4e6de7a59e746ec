"""The pages whose role was checked only in the service before the route declared it: each still
refuses the role it refused (the 403 page), and lets the role it is for do its work."""

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.access import Role
from tests.carecenter.web.test_pages import web_login
from tests.factories import make_center, make_resident, make_staff


def test_each_page_refuses_the_roles_it_is_not_for(client: TestClient, session: Session) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center)
    month = datetime.now(UTC).strftime("%Y-%m")
    worker = make_staff(session, center=center)
    assessor = make_staff(session, center=center, role=Role.assessor)
    manager = make_staff(session, center=center, role=Role.manager)
    admin = make_staff(session, center=None, role=Role.admin)
    statement = f"/residents/{resident.id}/statement?month={month}"

    csrf = web_login(client, worker.username)
    assert client.get(statement).status_code == 403  # a statement is the manager's paperwork
    served = {"csrf": csrf, "service_code": "meals", "resident_ids": str(resident.id), "served_on": month + "-01"}
    assert client.post("/meals", data=served).status_code == 200  # care workers record meals (back to the form)
    client.cookies.clear()
    csrf = web_login(client, assessor.username)
    meals = {"csrf": csrf, "service_code": "meals", "resident_ids": str(resident.id), "served_on": month + "-01"}
    assert client.post("/meals", data=meals).status_code == 403  # assessors do not serve meals
    client.cookies.clear()
    csrf = web_login(client, manager.username)
    assert client.get(statement).status_code == 200
    assert client.get("/manage/devices/unknown").status_code == 403  # the district's, not a center's
    assert client.post("/manage/templates", data={"csrf": csrf}).status_code == 403  # admins change templates
    assert client.get("/manage/devices/profiles/form").status_code == 403
    client.cookies.clear()
    web_login(client, admin.username)
    assert client.get("/manage/devices/unknown").status_code == 200
    assert client.get("/manage/devices/profiles/form").status_code == 200
