"""Loading zones from GeoJSON: each kind of bad input is refused with its feature index."""

import copy
import json
import warnings

import pytest

from geofence import InvalidZones, ZoneRepairedWarning, ZoneSet

SQUARE = [[[120.90, 29.50], [120.91, 29.50], [120.91, 29.51], [120.90, 29.51], [120.90, 29.50]]]


def _feature(kind="residential", coords=None, **props):
    return {
        "type": "Feature",
        "properties": {"kind": kind, "name": f"{kind} zone", **props},
        "geometry": {"type": "Polygon", "coordinates": copy.deepcopy(coords or SQUARE)},
    }


def _collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.mark.parametrize(
    ("collection", "index", "message"),
    [
        (_collection(), None, "no features"),
        ({"type": "Feature"}, None, "FeatureCollection"),
        ({"type": "FeatureCollection", "features": {}}, None, "must be a list"),
        (_collection(_feature(), _feature(kind="casino")), 1, "unknown kind 'casino'"),
        (
            _collection(
                _feature(
                    coords=[[[29.50, 120.90], [29.51, 120.90], [29.51, 120.91], [29.50, 120.90]]]
                )
            ),
            0,
            "looks like \\[lat, lon\\]",
        ),
        (
            _collection(
                _feature(coords=[[[200.0, 29.5], [201.0, 29.5], [201.0, 30.0], [200.0, 29.5]]])
            ),
            0,
            "out of range",
        ),
        # A bow-tie: the ring crosses itself.
        (
            _collection(_feature(coords=[[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]])),
            0,
            "Self-intersection",
        ),
        (_collection(_feature(coords=[[[0, 0], [1, 1], [0, 0]]])), 0, "at least 3 distinct"),
        (
            _collection(_feature(coords=[[[0, 0], [1, 1], [2, 2], [0, 0]]])),
            0,
            "invalid polygon|no area",
        ),
        (_collection(_feature(coords=[[[0, 0], ["a", 1], [1, 0], [0, 0]]])), 0, "pair of numbers"),
        (
            _collection(
                {
                    "type": "Feature",
                    "properties": {"kind": "forest"},
                    "geometry": {"type": "Point", "coordinates": [120.9, 29.5]},
                }
            ),
            0,
            "Polygon or MultiPolygon",
        ),
        (_collection(_feature(response_target_s=-5)), 0, "positive number of seconds"),
        (_collection(_feature(response_target_s=True)), 0, "positive number of seconds"),
        (
            _collection(
                _feature(quiet_windows=[{"days": ["mon"], "start": "9am", "end": "10:00"}])
            ),
            0,
            "HH:MM",
        ),
        (_collection(_feature(id="a"), _feature(id="a")), 1, "already used by feature 0"),
        (_collection({"type": "Feature", "geometry": None}), 0, "properties"),
    ],
)
def test_bad_geojson_is_refused_naming_the_feature(collection, index, message):
    with pytest.raises(InvalidZones, match=message) as info:
        ZoneSet.from_geojson(collection)
    assert info.value.feature_index == index
    expected_prefix = "zone collection" if index is None else f"feature {index}"
    assert str(info.value).startswith(expected_prefix)


def test_unclosed_ring_is_closed_with_a_warning_naming_the_feature():
    open_ring = [SQUARE[0][:-1]]
    with pytest.warns(ZoneRepairedWarning, match="feature 1 .*not closed"):
        zones = ZoneSet.from_geojson(_collection(_feature(), _feature(coords=open_ring)))
    closed, repaired = list(zones)
    assert repaired.geometry.equals(closed.geometry)


def test_self_intersection_is_repaired_only_on_request():
    bowtie = [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]
    with pytest.warns(ZoneRepairedWarning, match="feature 0 .*Self-intersection"):
        zones = ZoneSet.from_geojson(_collection(_feature(coords=bowtie)), repair=True)
    # make_valid splits the bow-tie into its two triangles, each of area 2 * 1 / 2 = 1.
    assert next(iter(zones)).geometry.area == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("kind", "props", "kwargs", "target_s"),
    [
        ("residential", {}, {}, 180.0),
        ("forest", {}, {}, 360.0),
        ("commercial", {}, {}, 300.0),
        ("commercial", {}, {"default_target_s": 420.0}, 420.0),
        ("residential", {}, {"targets_s": {"residential": 150.0}}, 150.0),
        ("residential", {"response_target_s": 90}, {"targets_s": {"residential": 150.0}}, 90.0),
    ],
)
def test_target_resolution(kind, props, kwargs, target_s):
    zones = ZoneSet.from_geojson(_collection(_feature(kind=kind, **props)), **kwargs)
    assert next(iter(zones)).response_target_s == target_s
    assert zones.target_s(29.505, 120.905) == target_s


def test_unknown_kind_in_targets_is_refused():
    with pytest.raises(ValueError, match="unknown kind 'casino'"):
        ZoneSet.from_geojson(_collection(_feature()), targets_s={"casino": 10})


def test_reads_paths_and_text(tmp_path):
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(_collection(_feature(), _feature(kind="forest"))), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(ZoneSet.from_geojson(path)) == 2
        assert len(ZoneSet.from_geojson(str(path))) == 2
        assert len(ZoneSet.from_geojson(path.read_text(encoding="utf-8"))) == 2


@pytest.mark.parametrize(
    ("content", "message"), [(None, "cannot read"), ("{not json", "not valid JSON: .* line 1")]
)
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "zones.geojson"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidZones, match=message):
        ZoneSet.from_geojson(path)


def test_multipolygon_and_holes():
    ring = [[120.90, 29.50], [120.94, 29.50], [120.94, 29.54], [120.90, 29.54], [120.90, 29.50]]
    hole = [[120.91, 29.51], [120.91, 29.53], [120.93, 29.53], [120.93, 29.51], [120.91, 29.51]]
    feature = {
        "type": "Feature",
        "properties": {"kind": "forest", "name": "ring forest"},
        "geometry": {"type": "MultiPolygon", "coordinates": [[ring, hole]]},
    }
    zones = ZoneSet.from_geojson(_collection(feature))
    assert zones.kinds_at(29.505, 120.905) == {"forest"}
    assert zones.kinds_at(29.52, 120.92) == set()  # in the hole
