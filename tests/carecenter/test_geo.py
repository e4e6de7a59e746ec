"""Coordinates in China: GCJ-02 and BD-09 input lands in WGS-84, checked against published point pairs in Beijing."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.access import Role
from carecenter.geo import CoordinateSystem, amap_link, distance_m, to_gcj02, to_wgs84
from tests.conftest import Clock
from tests.factories import login, make_center, make_resident, make_staff

# Published pairs (the test vectors of the widely used open "coordtransform" converters, e.g.
# wandergis/coordtransform's README): the same point in Beijing in each system.
WGS84_AT_116_404_39_915_AS_GCJ02 = (39.91640428150164, 116.41024449916938)  # WGS-84 (39.915, 116.404) in GCJ-02
BD09_116_404_39_915_AS_GCJ02 = (39.90865673957631, 116.39762729119315)  # BD-09 (39.915, 116.404) in GCJ-02
WGS84_40_116_AS_GCJ02 = (40.001213650174, 116.006141221789)


def test_gcj02_from_amap_lands_on_the_wgs84_point() -> None:
    lat, lon = to_wgs84(*WGS84_AT_116_404_39_915_AS_GCJ02, CoordinateSystem.gcj02)
    assert distance_m((lat, lon), (39.915, 116.404)) < 0.5
    assert distance_m(to_gcj02(40.0, 116.0), WGS84_40_116_AS_GCJ02) < 0.5
    # The offset is why it matters: hundreds of metres, more than the check-in and geofence distances.
    assert distance_m(WGS84_AT_116_404_39_915_AS_GCJ02, (39.915, 116.404)) > 200


def test_bd09_from_baidu_lands_on_the_wgs84_point() -> None:
    via_gcj = to_wgs84(*BD09_116_404_39_915_AS_GCJ02, CoordinateSystem.gcj02)
    assert distance_m(to_wgs84(39.915, 116.404, CoordinateSystem.bd09), via_gcj) < 0.5


def test_points_outside_china_and_wgs84_are_left_alone() -> None:
    assert to_wgs84(51.5, -0.12, CoordinateSystem.gcj02) == (51.5, -0.12)
    assert to_wgs84(39.915, 116.404, CoordinateSystem.wgs84) == (39.915, 116.404)


def test_the_amap_link_opens_at_the_gcj02_point() -> None:
    link = amap_link(39.915, 116.404, "王秀英")
    assert "position=116.410244,39.916404" in link and "coordinate=gaode" in link
    assert "%E7%8E%8B" in link  # the name is escaped


@pytest.mark.parametrize(
    ("system", "given"),
    [("gcj02", WGS84_AT_116_404_39_915_AS_GCJ02), ("wgs84", (39.915, 116.404))],
)
def test_a_home_entered_from_any_map_is_stored_in_wgs84(
    client: TestClient, session: Session, clock: Clock, system: str, given: tuple[float, float]
) -> None:
    center = make_center(session)
    manager = login(client, make_staff(session, center=center, role=Role.manager))
    body = {"name": "王秀英", "gender": "female", "birth_date": "1940-03-02", "consent_location_data": True}
    made = client.post(
        "/api/v1/residents",
        json=body | {"latitude": given[0], "longitude": given[1], "coordinate_system": system},
        headers=manager,
    )
    assert made.status_code == 201, made.text
    stored = (made.json()["latitude"], made.json()["longitude"])
    assert distance_m(stored, (39.915, 116.404)) < 0.5
    assert "coordinate_system" not in made.json()
    # A PATCH converts the same way.
    resident = make_resident(session, center=center)
    patched = client.patch(
        f"/api/v1/residents/{resident.id}",
        json={"latitude": given[0], "longitude": given[1], "coordinate_system": system},
        headers=manager,
    )
    assert patched.status_code == 200, patched.text
    assert distance_m((patched.json()["latitude"], patched.json()["longitude"]), (39.915, 116.404)) < 0.5
    bad = client.post("/api/v1/residents", json=body | {"coordinate_system": "mars"}, headers=manager)
    assert bad.status_code == 422
