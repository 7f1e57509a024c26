"""GET /api/v1/reachability over the sample town and its three docks: first and cached answers.

For each cell size the first GET computes the map (``api.fleet.planning.ReachCache``; the first
of all also imports matplotlib for the PNG raster), the second is served from the cache (the
PNG and JSON built again). Reports the grid, both times, the answer's size and each zone kind's
share within target.

Run: python tests/bench/bench_reachability_api.py   (one JSON line; never passes or fails on time)
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fastapi.testclient import TestClient
from sqlmodel import Session

from api.app import create_app
from api.core.auth import create_token
from api.core.models import Drone, User
from api.core.settings import Settings
from geofence import sample_town
from tests.api.conftest import START, TEST_SECRET, ManualClock


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp / 'bench.db'}",
                        data_dir=tmp, secret_key=TEST_SECRET)
    app = create_app(settings, clock=ManualClock())
    headers = {"Authorization": f"Bearer {create_token('op', 'operator', secret=TEST_SECRET, ttl_s=600)}"}
    rows = []
    with TestClient(app) as client:
        with Session(app.state.engine) as session:
            for dock in sample_town().docks:
                session.add(Drone(id=dock.id, name=dock.id, dock_lat=dock.lat, dock_lon=dock.lon))
            session.add(User(username="op", password_hash="-", role="operator", created_at=START))
            session.commit()
        for cell_m in (20, 50, 100):
            times = []
            for _ in range(2):
                t0 = time.perf_counter()
                response = client.get("/api/v1/reachability", params={"cell_m": cell_m},
                                      headers=headers)
                times.append(time.perf_counter() - t0)
                response.raise_for_status()
            data = response.json()
            rows.append({"cell_m": cell_m, "grid": f"{data['grid']['cols']}x{data['grid']['rows']}",
                         "first_ms": round(times[0] * 1000), "cached_ms": round(times[1] * 1000),
                         "answer_kib": round(len(response.content) / 1024, 1),
                         "within_share": {k["kind"]: round(k["within_share"], 3)
                                          for k in data["kinds"]}})
        computed = app.state.reach.computed
    print(json.dumps({"bench": "reachability_api", "cpus": os.cpu_count(),
                      "python": platform.python_version(), "maps_computed": computed,
                      "runs": rows}))


if __name__ == "__main__":
    main()
