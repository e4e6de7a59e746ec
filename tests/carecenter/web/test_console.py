"""The manager's console: navigation grouped by what a manager does, the admin's working center
chosen in the header, and the alert board as a wall screen."""

import re

from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.access import Role
from tests.carecenter.alerts.scenario import build
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import make_center, make_resident, make_staff

GROUPS = {
    "今日工作": ["/board", "/schedule", "/alerts"],
    "人员": ["/manage/residents", "/manage/staff", "/care-plans"],
    "设备": ["/manage/devices", "/manage/devices/profiles"],
    "费用": [
        "/manage/services",
        "/manage/subsidy-rules",
        "/service-records",
        "/visit-exceptions",
        "/reports/monthly",
    ],
    "质量": ["/figures", "/assessments", "/welfare", "/messages", "/manage/templates"],
}


def test_the_console_navigation_is_a_few_groups_of_what_a_manager_does(client: TestClient, session: Session) -> None:
    center = make_center(session)
    web_login(client, make_staff(session, center=center, role=Role.manager).username)
    page = client.get("/board").text
    found = re.findall(
        r'<details class="navgroup"><summary>([^<]+)</summary><div class="menu">(.*?)</div></details>', page, re.S
    )
    assert [name for name, _ in found] == list(GROUPS)
    for (name, links), wanted in zip(found, GROUPS.values(), strict=True):
        assert re.findall(r'href="([^"]+)"', links) == wanted, name
    for links in GROUPS.values():
        for path in links:
            assert client.get(path).status_code == 200, path  # every link leads somewhere a manager may go


def test_an_admin_works_on_the_center_chosen_in_the_header(client: TestClient, session: Session) -> None:
    """Before: the pages that need one center ask the admin which; after choosing it in the header,
    they show that center, and its lists only."""
    near, far = make_center(session, name="长阳镇中心"), make_center(session, name="窦店镇中心")
    make_resident(session, center=near, name="近处老人")
    make_resident(session, center=far, name="远处老人")
    csrf = web_login(client, make_staff(session, center=None, role=Role.admin).username)
    assert client.get("/welfare").status_code == 422  # which center?
    picker = client.get("/board").text
    assert 'id="working-center"' in picker and "长阳镇中心" in picker and "窦店镇中心" in picker
    chosen = client.post("/center", data={"csrf": csrf, "center_id": str(near.id), "next": "/welfare"})
    assert chosen.status_code == 200 and chosen.url.path == "/welfare"
    assert client.get("/meals").status_code == 200
    residents = client.get("/manage/residents").text
    assert "近处老人" in residents and "远处老人" not in residents
    assert f'<option value="{near.id}" selected>' in client.get("/board").text
    refused = client.post("/center", data={"csrf": csrf, "center_id": "999999", "next": "/welfare"})
    assert "没有这个服务中心" in refused.text


def test_a_manager_cannot_choose_a_center(client: TestClient, session: Session) -> None:
    center, other = make_center(session), make_center(session)
    csrf = web_login(client, make_staff(session, center=center, role=Role.manager).username)
    assert 'id="working-center"' not in client.get("/board").text
    assert client.post("/center", data={"csrf": csrf, "center_id": str(other.id)}).status_code == 403


def test_the_wall_screen_shows_the_board_large_with_nothing_to_press(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    s.post(client, clock.now, "sos")
    web_login(client, s.manager.username)
    board = client.get("/board").text
    assert 'href="/board/wall"' in board and 'action="/alerts/' in board
    wall = client.get("/board/wall").text
    assert '<body class="wall"' in wall and "王秀英" in wall
    assert "<form" not in wall.split("<main>", 1)[1]  # nothing to press on the wall
    assert 'data-rows="/board/rows?display=wall"' in wall
    rows = client.get("/board/rows", params={"display": "wall"}).text
    assert "王秀英" in rows and "<form" not in rows
