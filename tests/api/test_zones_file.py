"""`flyonce serve` with a bad zones file (FLYONCE_ZONES_FILE): refused before it listens, exit
status 2, one line naming the file, the feature and the problem, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import ROOT

GOOD = [[120.90, 29.50], [120.91, 29.50], [120.91, 29.51], [120.90, 29.51], [120.90, 29.50]]


def feature(kind: str, ring: list, name: str) -> dict:
    return {"type": "Feature", "properties": {"kind": kind, "name": name},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


@pytest.mark.parametrize(("bad", "problem"), [
    # a bow-tie: the ring crosses itself at (120.915, 29.505)
    (feature("forest", [[120.91, 29.50], [120.92, 29.51], [120.92, 29.50], [120.91, 29.51],
                        [120.91, 29.50]], "bow-tie"), "Self-intersection"),
    (feature("market", [[lat, lon] for lon, lat in GOOD], "swapped"), "looks like [lat, lon]"),
    (feature("casino", GOOD, "casino"), "unknown kind 'casino'"),
])
def test_serve_refuses_a_bad_zones_file_naming_the_feature_and_the_problem(tmp_path: Path, bad,
                                                                             problem):
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection",
                                "features": [feature("residential", GOOD, "ok"), bad]}))
    env = {**os.environ, "FLYONCE_ZONES_FILE": str(path),
           "FLYONCE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    done = subprocess.run([sys.executable, "-m", "api", "serve", "--port", "0"], check=False, cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    [line] = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert str(path) in line and "feature 1:" in line and problem in line, line
