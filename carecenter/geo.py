"""Coordinates in China: everything is stored in WGS-84; GCJ-02 and BD-09 are converted at the edge.

Watches and the tablet's browser report WGS-84. Addresses picked on Chinese maps come in GCJ-02
(AMap, Tencent) or BD-09 (Baidu), a few hundred metres off — more than the check-in distance and
the geofence radius. The conversions are prcoords' (public domain; the inverse is iterated to
sub-metre precision rather than the usual one-step estimate that is off by metres).
"""

import math
import warnings
from enum import StrEnum
from urllib.parse import quote

import prcoords


class CoordinateSystem(StrEnum):
    wgs84 = "wgs84"  # GPS, watches, browsers
    gcj02 = "gcj02"  # AMap (高德), Tencent maps
    bd09 = "bd09"  # Baidu maps


def to_wgs84(latitude: float, longitude: float, system: CoordinateSystem) -> tuple[float, float]:
    """The WGS-84 position of a point given in `system` (points outside China are not offset)."""
    if system == CoordinateSystem.wgs84 or not prcoords.sanity_in_china_p(prcoords.Coords(latitude, longitude)):
        return latitude, longitude
    convert = prcoords.gcj_wgs_bored if system == CoordinateSystem.gcj02 else prcoords.bd_wgs_bored
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # outside China it returns the point as it is, with a warning
        point = convert((latitude, longitude))
    return round(point.lat, 7), round(point.lon, 7)


def to_gcj02(latitude: float, longitude: float) -> tuple[float, float]:
    """What AMap calls the same point (the offset applies inside China only)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        point = prcoords.wgs_gcj((latitude, longitude))
    return point.lat, point.lon


def amap_link(latitude: float, longitude: float, label: str) -> str:
    """A link that opens AMap (app or web) with a marker at a stored WGS-84 point.

    AMap's URI API (https://lbs.amap.com/api/uri-api/guide/mobile-web/point) takes
    `position=lon,lat`; we convert to its own GCJ-02 and say so with `coordinate=gaode`.
    """
    lat, lon = to_gcj02(latitude, longitude)
    return (
        f"https://uri.amap.com/marker?position={lon:.6f},{lat:.6f}&name={quote(label)}"
        "&coordinate=gaode&callnative=1&src=carecenter"
    )


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))
