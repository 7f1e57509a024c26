"""LocalFrame: metres east/north of an origin, checked against the ellipsoid's own geometry."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from geofence import LocalFrame

WGS84 = Geod(ellps="WGS84")
A_M = 6378137.0  # WGS84 semi-major axis


@pytest.mark.parametrize(
    ("origin", "point", "east_m", "north_m", "tol_m"),
    [
        # Along the equator the geodesic is the equator itself: a * dlon(rad) = 6378137 * 0.01 * pi/180.
        ((0.0, 0.0), (0.0, 0.01), A_M * math.radians(0.01), 0.0, 1e-3),
        ((0.0, 0.0), (0.0, -0.01), -A_M * math.radians(0.01), 0.0, 1e-3),
        # Along the meridian at 29.505 N: M = a(1-e2)/(1-e2 sin^2 phi)^1.5 = 6,350,897 m per radian,
        # so 0.01 deg north is 6350897 * 1.745329e-4 = 1108.44 m (hand value, 4 significant digits).
        ((29.50, 120.90), (29.51, 120.90), 0.0, 1108.44, 0.05),
        # The origin maps to (0, 0).
        ((29.50, 120.90), (29.50, 120.90), 0.0, 0.0, 1e-9),
    ],
)
def test_hand_computed_offsets(origin, point, east_m, north_m, tol_m):
    frame = LocalFrame(*origin)
    east, north = frame.to_local(*point)
    assert east == pytest.approx(east_m, abs=tol_m)
    assert north == pytest.approx(north_m, abs=tol_m)


@settings(max_examples=200, deadline=None)
@given(
    distance_m=st.floats(0.0, 50_000.0),
    azimuth_deg=st.floats(-180.0, 180.0),
    origin_lat=st.floats(-60.0, 60.0),
    origin_lon=st.floats(-179.0, 179.0),
)
def test_distance_and_bearing_from_origin_are_geodesic(
    distance_m, azimuth_deg, origin_lat, origin_lon
):
    # Azimuthal equidistant: a point a geodesic distance d away at azimuth az lands at
    # d * (sin az, cos az). pyproj.Geod solves the geodesic independently of the projection.
    lon, lat, _ = WGS84.fwd(origin_lon, origin_lat, azimuth_deg, distance_m)
    east, north = LocalFrame(origin_lat, origin_lon).to_local(lat, lon)
    assert east == pytest.approx(distance_m * math.sin(math.radians(azimuth_deg)), abs=1e-3)
    assert north == pytest.approx(distance_m * math.cos(math.radians(azimuth_deg)), abs=1e-3)


@settings(max_examples=200, deadline=None)
@given(east_m=st.floats(-35_000.0, 35_000.0), north_m=st.floats(-35_000.0, 35_000.0))
def test_round_trip_within_one_centimetre_inside_50_km(east_m, north_m):
    frame = LocalFrame(29.50, 120.90)
    lat, lon = frame.to_wgs84(east_m, north_m)
    east2, north2 = frame.to_local(lat, lon)
    assert math.hypot(east2 - east_m, north2 - north_m) < 0.01


def test_vectorised_matches_scalar():
    frame = LocalFrame(29.50, 120.90)
    lats = np.array([[29.49, 29.50], [29.51, 29.52]])
    lons = np.array([[120.88, 120.90], [120.91, 120.95]])
    east, north = frame.to_local(lats, lons)
    assert east.shape == north.shape == (2, 2)
    for i in range(2):
        for j in range(2):
            e, n = frame.to_local(float(lats[i, j]), float(lons[i, j]))
            assert (east[i, j], north[i, j]) == (e, n)
    lat2, lon2 = frame.to_wgs84(east, north)
    np.testing.assert_allclose(lat2, lats, atol=1e-10)
    np.testing.assert_allclose(lon2, lons, atol=1e-10)


@pytest.mark.parametrize(
    ("lat", "lon"), [(91.0, 120.0), (-90.0, 0.0), (29.5, 181.0), (math.nan, 120.9)]
)
def test_bad_origin_is_refused_with_the_range(lat, lon):
    with pytest.raises(ValueError, match="origin_l"):
        LocalFrame(lat, lon)


def test_frames_compare_by_origin():
    assert LocalFrame(29.5, 120.9) == LocalFrame(29.5, 120.9)
    assert LocalFrame(29.5, 120.9) != LocalFrame(29.5, 121.0)
