"""Offences benchmark: deciding first offence or repeat with 100,000 stored events, and clustering them
into hot spots, against the naive way measured in the same run.

The naive way loads every confirmed violation of the type in the look-back and measures the
distance to each; flyonce narrows by a latitude/longitude box in SQL first (api/lifecycle/offences.py).

Run: python tests/bench/bench_offences.py [--events 100000] [--probes 200]
     (SQLite in a temporary folder; FLYONCE_TEST_DATABASE_URL adds PostgreSQL. One JSON line.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from api.core import db
from api.core.models import Event
from api.evaluation.hotspots import confirmed_violations, hot_spots
from api.lifecycle.offences import OffenceRules, distances_m, earlier_violations
from geofence import LocalFrame

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
FRAME = LocalFrame(29.50, 120.90)
STATES = ["confirmed", "assigned", "resolved", "evaluated", "evaluated", "rejected"]


def fill(url: str, n: int, rng: random.Random) -> None:
    """`n` events over a 6 km square and a year; a third of them at 300 recurring corners."""
    corners = [(rng.uniform(-3000, 3000), rng.uniform(-3000, 3000)) for _ in range(300)]
    rows = []
    for i in range(n):
        if i % 3 == 0:
            cx, cy = rng.choice(corners)
            east, north = cx + rng.gauss(0, 10), cy + rng.gauss(0, 10)
        else:
            east, north = rng.uniform(-3000, 3000), rng.uniform(-3000, 3000)
        lat, lon = FRAME.to_wgs84(east, north)
        state = rng.choice(STATES)
        detected = NOW - timedelta(seconds=rng.uniform(0, 365 * 86400))
        rows.append(dict(  # noqa: C408  (keyword names read like the columns)
            type="street_stall" if rng.random() < 0.8 else "mobile_fuel_sale", state=state,
            lat=float(lat), lon=float(lon), confidence=0.9, source="bench", source_event_id=str(i),
            sightings=1, target_s=180.0, at_risk=False, detected_at=detected,
            resolved_at=detected + timedelta(minutes=20) if state in ("resolved", "evaluated") and i % 7 else None,
        ))
    engine = db.create_db_engine(url)
    db.upgrade(engine)
    with engine.begin() as conn:
        for start in range(0, n, 5000):
            conn.execute(Event.__table__.insert(), rows[start:start + 5000])
    engine.dispose()


def naive_earlier(session: Session, event: Event, rules: OffenceRules) -> list[int]:
    rows = session.exec(select(Event).where(
        Event.type == event.type, Event.detected_at >= event.detected_at - rules.lookback,
        Event.detected_at <= event.detected_at, Event.resolved_at.is_not(None))).all()
    dist = distances_m(event.lat, event.lon, [e.lat for e in rows], [e.lon for e in rows])
    return sorted(e.id for e, d in zip(rows, dist) if d <= rules.radius_m)


def bench_backend(url: str, n: int, probes: int, rng: random.Random) -> dict:
    t0 = time.perf_counter()
    fill(url, n, rng)
    fill_s = time.perf_counter() - t0
    engine = db.create_db_engine(url)
    rules = OffenceRules()
    with Session(engine) as session:
        stored = session.exec(select(Event).where(Event.state != "rejected").limit(probes)).all()
        probe_events = [Event(id=-1, type=e.type, state="confirmed", lat=e.lat + 1e-5, lon=e.lon,
                              confidence=1, source="probe", source_event_id="p", target_s=180,
                              detected_at=NOW) for e in stored]
        boxed, naive, repeats = [], [], 0
        for event in probe_events:
            t = time.perf_counter()
            found = earlier_violations(session, event, rules)
            boxed.append(time.perf_counter() - t)
            t = time.perf_counter()
            expected = naive_earlier(session, event, rules)
            naive.append(time.perf_counter() - t)
            assert sorted(e.id for e in found) == expected, "box and naive disagree"
            repeats += bool(found)
        t = time.perf_counter()
        violations = confirmed_violations(session)
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        spots = hot_spots(violations, link_m=rules.radius_m)
        cluster_s = time.perf_counter() - t
    engine.dispose()
    ms = lambda xs, q: round(1000 * (statistics.quantiles(xs, n=100)[q - 1]), 2)
    return {
        "events": n, "fill_s": round(fill_s, 1), "probes": probes, "probes_repeat": repeats,
        "assess_query_p50_ms": ms(boxed, 50), "assess_query_p99_ms": ms(boxed, 99),
        "naive_p50_ms": ms(naive, 50), "naive_p99_ms": ms(naive, 99),
        "speedup_p50": round(statistics.median(naive) / statistics.median(boxed), 1),
        "hotspots_confirmed": len(violations), "hotspots_load_s": round(load_s, 2),
        "hotspots_cluster_s": round(cluster_s, 2), "hotspots": len(spots),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(2026)
    out = {"bench": "offences", "python": platform.python_version(), "machine": platform.machine()}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = bench_backend(f"sqlite:///{tmp}/bench.db", args.events, args.probes, rng)
    pg = os.environ.get("FLYONCE_TEST_DATABASE_URL")
    if pg:
        from tests.api.conftest import pg_schema_url

        with pg_schema_url() as url:
            out["postgresql"] = bench_backend(url, args.events, args.probes, rng)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
