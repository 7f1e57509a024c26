"""What one violation, one event costs at ingest, and what it saves the operators.

Ingest: one candidate stream POSTed by 8 concurrent clients to a real `uvicorn api.main:app`,
once with merging off (``FLYONCE_MERGE_RADIUS_M=0``, the baseline) and once on (15 m), on SQLite
and on PostgreSQL (``--pg URL``). The stream is a patrol's: 300 stalls over the sample town, each
seen 1-4 times by up to three drones 0-6 m apart, shuffled. Each run reports candidates/s, the
server's CPU ms per candidate (which holds on a busy machine, where wall rates do not) and how
many events it made; `merge_rate_ratio` (target >= 0.90) is merged rate / unmerged rate.

The demo's day (``--demo-minutes``, 30 by default, 0 to skip): the simulated closed loop with its
default 6 drones, run twice on the same seed, merging off and on: alerts per true violation (goal 1.00) and duplicate alerts (goal 0).

    python tests/bench/bench_ingest_merge.py [--candidates 1200] [--pg URL] [--demo-minutes 30]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import SECRET, prepare, start_server  # noqa: E402

from api.core.auth import create_token  # noqa: E402
from geofence import sample_town  # noqa: E402

CLIENTS = 8


def stream(n: int, seed: int = 11) -> list[dict]:
    """``n`` candidates: stalls at random street points, each seen 1-4 times, 0-6 m apart."""
    rng = random.Random(seed)
    town = sample_town()
    min_lon, min_lat, max_lon, max_lat = town.zones.bounds
    bodies: list[dict] = []
    while len(bodies) < n:
        lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
        kind = rng.choice(["street_stall", "mobile_fuel_sale"])
        for _ in range(rng.randint(1, 4)):
            d_m, az = rng.uniform(0, 6), rng.uniform(0, 2 * math.pi)
            bodies.append({
                "source": f"detector:drone-{rng.randint(1, 3)}",
                "source_event_id": uuid.uuid4().hex, "type": kind,
                "lat": lat + d_m * math.cos(az) / 110_850,
                "lon": lon + d_m * math.sin(az) / (110_850 * math.cos(math.radians(lat))),
                "confidence": round(rng.uniform(0.45, 0.95), 2)})
    bodies = bodies[:n]
    rng.shuffle(bodies)
    return bodies


async def post_all(url: str, bodies: list[dict]) -> tuple[float, int]:
    """Wall seconds to POST every body with CLIENTS at a time, and the errors."""
    det = {"Authorization": f"Bearer {create_token('det', 'detector', secret=SECRET, ttl_s=3600)}"}
    queue: asyncio.Queue = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    errors = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty():
            body = queue.get_nowait()
            r = await client.post(f"{url}/api/v1/candidates", json=body, headers=det)
            errors += r.status_code >= 300

    async with httpx.AsyncClient(timeout=60) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(CLIENTS)))
        return time.perf_counter() - t0, errors


def run(db_url: str, bodies: list[dict], merge_radius_m: float, data_dir: Path) -> dict:
    prepare(db_url)
    proc, url = start_server({"FLYONCE_DATABASE_URL": db_url, "FLYONCE_DATA_DIR": str(data_dir),
                              "FLYONCE_SECRET_KEY": SECRET,
                              "FLYONCE_MERGE_RADIUS_M": str(merge_radius_m)})
    try:
        server = psutil.Process(proc.pid)
        cpu0 = sum(server.cpu_times()[:2])
        wall_s, errors = asyncio.run(post_all(url, bodies))
        cpu_s = sum(server.cpu_times()[:2]) - cpu0
        op = {"Authorization": f"Bearer {create_token('op', 'operator', secret=SECRET, ttl_s=600)}"}
        events = httpx.get(f"{url}/api/v1/events?limit=1", headers=op).json()["total"]
    finally:
        proc.terminate()
        proc.wait(10)
    return {"candidates_per_s": round(len(bodies) / wall_s, 1),
            "server_cpu_ms_per_candidate": round(cpu_s * 1000 / len(bodies), 2),
            "events": events, "errors": errors}


def fresh_pg(pg_url: str) -> str:
    """A URL confined to a new schema of ``pg_url``'s database."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in pg_url else "?"
    return f"{pg_url}{sep}options=-csearch_path%3D{schema}"


def ingest(backend: str, bodies: list[dict], pg_url: str | None) -> dict:
    figures = {}
    for label, radius in (("unmerged", 0.0), ("merged", 15.0)):
        with tempfile.TemporaryDirectory() as tmp:
            url = fresh_pg(pg_url) if backend == "postgresql" else f"sqlite:///{tmp}/f.db"
            figures[label] = run(url, bodies, radius, Path(tmp))
        print(f"[bench] {backend} {label}: {figures[label]}", file=sys.stderr)
    figures["merge_rate_ratio"] = round(figures["merged"]["candidates_per_s"]
                                        / figures["unmerged"]["candidates_per_s"], 3)
    figures["merge_cpu_ratio"] = round(figures["merged"]["server_cpu_ms_per_candidate"]
                                       / figures["unmerged"]["server_cpu_ms_per_candidate"], 3)
    return figures


def demo_day(minutes: float) -> dict:
    from api.demo import Demo, DemoConfig

    out = {}
    for label, radius in (("unmerged", 0.0), ("merged", 15.0)):
        with tempfile.TemporaryDirectory() as tmp:
            # the demo's own day (6 drones, defaults), its length as asked
            cfg = DemoConfig(duration_min=minutes, patrol_week=False, merge_radius_m=radius,
                             data_dir=Path(tmp))
            with Demo(cfg) as demo:
                card = demo.run().scorecard
        out[label] = {"alerts_per_true_violation": None if card.alerts_per_violation is None
                      else round(card.alerts_per_violation, 3),
                      "duplicate_alerts": card.duplicate_alerts,
                      "violations_alerted": card.violations_alerted,
                      "merged_sightings": card.merged_sightings}
        print(f"[bench] demo {label}: {out[label]}", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=1200)
    parser.add_argument("--pg", default=None, help="PostgreSQL URL (a schema is made per run)")
    parser.add_argument("--demo-minutes", type=float, default=30.0,
                        help="mission minutes of each demo day (the demo's own is 30; 0 skips)")
    args = parser.parse_args()
    bodies = stream(args.candidates)
    result: dict = {"bench": "ingest_merge", "candidates": len(bodies), "clients": CLIENTS,
                    "sqlite": ingest("sqlite", bodies, None)}
    if args.pg:
        result["postgresql"] = ingest("postgresql", bodies, args.pg)
    if args.demo_minutes > 0:
        result["demo"] = demo_day(args.demo_minutes)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
