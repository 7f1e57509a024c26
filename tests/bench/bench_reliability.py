"""Reliability figures: writes lost or doubled by a kill -9, the replacement time after a link
loss, and a short load run with operators watching.

    .venv/bin/python tests/bench/bench_reliability.py [--minutes 0.5] [--rate 200]
        [--candidates 2000] [--kill-after 668] [--events 150] [--operators 10] [--pg URL] [--redis URL]
        [--only load [--posting both|single|batched]] [--plot load.png]

1. Crash points, on SQLite and on PostgreSQL: a real `serve` process is SIGKILLed once
   ``--kill-after`` of ``--candidates`` candidates posted at full speed were acknowledged,
   restarted, and everything is posted again; then the same for a review, a team assignment and
   a resolve with a photo over ``--events`` events (killed after a third were acknowledged).
   ``lost``: acknowledged but absent after the restart; ``duplicated``: held more than once
   (sightings per candidate key, audit rows per transition, photos per resolve) after all was
   sent again. Both must be 0.
2. Link loss: three simulated copters at 2x over TCP; the one flying to Beiyuan loses its link;
   mission seconds from the drop to ``replaced`` and to the next drone's accepted command.
3. Load: two `serve` processes on PostgreSQL sharing alerts through Redis, ``--operators``
   operators' WebSockets connected (half on each process), candidates posted open-loop at
   ``--rate`` for ``--minutes``; candidates/s acknowledged, the p99 of POST → `alerted` on every
   operator's socket for the run and for each minute of it (a tenth of a run under ten minutes),
   and the processes' RSS by the same windows (``rss_growth_mb_second_half``: memory flat once
   warm). ``--plot`` draws both series. Twice: one POST per candidate
   (``load``), and as detection workers that post what came due every ``--batch-s`` to
   /api/v1/candidates/batch (``load_batched``; its ``alert_p99_ms`` counts from the POST that
   carried the candidate, ``alert_from_due_p99_ms`` from when it was due, the wait included).
   The merge radius is the service's default, so later passes over the 10,000 places merge.

Prints one JSON line. Wall-clock figures need the machine to itself: the load is open loop, so
when the servers fall behind the rate the alert latency counts the backlog (from the moment each
candidate was due); ``server_cpu_ms_per_candidate`` holds on a busy machine too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx
import psutil
import sqlalchemy as sa

from api.core.settings import Settings
from dispatch.planner import Incident
from geofence import sample_town
from simulators.clock import SimClock
from simulators.fleet import Fleet
from tests.api.conftest import (
    TEST_SECRET,
    ServerProcess,
    candidate,
    pg_schema_url,
    prepare_db,
    server_env,
)
from tests.api.crash import (
    DET,
    TM1,
    assign_calls,
    candidate_calls,
    evidence,
    fire_and_kill,
    resolve_calls,
    review_calls,
    sightings_per_key,
    states,
    transitions,
)
from tests.bench import loadgen

TOWN = sample_town()
BEIYUAN = (29.5068, 120.9046)


class QuietServer(ServerProcess):
    """A ServerProcess whose output is drained in a thread, so a chatty run never blocks it."""

    def start(self) -> None:
        super().start()
        assert self.proc is not None
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- 1. crash points


def crash_candidates(url: str, data_dir: Path, n: int, kill_after: int) -> dict:
    server = QuietServer(server_env(url, data_dir))
    engine = sa.create_engine(url)
    try:
        calls, keys = candidate_calls(n)
        t0 = time.perf_counter()
        volley = fire_and_kill(server, calls, kill_after=kill_after)
        posting_s = time.perf_counter() - t0
        server.start()
        before = sightings_per_key(engine, keys)
        lost = sum(1 for i in volley.acked if before[keys[i]] == 0)
        with httpx.Client(timeout=30) as client:
            again = [call(client, server.url) for call in calls]
        after = sightings_per_key(engine, keys)
        ids = sorted({r.json()["id"] for r in again if r.is_success})
        moves = transitions(engine, ids)
        return {"posted": n, "acknowledged_before_kill": len(volley.acked),
                "stored_before_kill": sum(1 for k in keys if before[k]),
                "lost": lost, "duplicated": sum(c - 1 for c in after.values() if c > 1),
                "missing_after_resend": sum(1 for c in after.values() if c == 0),
                "audit_detected_rows_not_one": sum(1 for m in moves.values()
                                                   if m[(None, "detected")] != 1),
                "ack_rate_per_s": round(len(volley.acked) / posting_s, 1)}
    finally:
        server.stop()
        engine.dispose()


def crash_verbs(url: str, data_dir: Path, n: int) -> dict:
    server = QuietServer(server_env(url, data_dir))
    engine = sa.create_engine(url)
    out: dict = {}
    try:
        with httpx.Client(timeout=30) as client:
            ids = [client.post(f"{server.url}/api/v1/candidates", headers=DET,
                               json=candidate(lat=29.49 + (k % 50) * 4e-4,
                                              lon=120.89 + (k // 50) * 4e-4)).json()["id"]
                   for k in range(n)]
        phases = [("review", review_calls, "alerted", ("alerted", "confirmed")),
                  ("assign", assign_calls, "confirmed", ("confirmed", "assigned")),
                  ("resolve_with_photo", resolve_calls, "on_scene", ("on_scene", "resolved"))]
        for name, make, before, move in phases:
            if name == "resolve_with_photo":
                with httpx.Client(timeout=30) as client:
                    for e in ids:
                        client.post(f"{server.url}/api/v1/events/{e}/on-scene", headers=TM1)
            calls = make(ids)
            volley = fire_and_kill(server, calls, kill_after=max(1, n // 3))
            server.start()
            moved = transitions(engine, ids)
            lost = sum(1 for i in volley.acked if moved[ids[i]][move] == 0)
            st = states(engine, ids)
            with httpx.Client(timeout=30) as client:
                for call, e in zip(calls, ids):
                    if st[e] == before:
                        call(client, server.url)
            moved = transitions(engine, ids)
            dup = sum(moved[e][move] - 1 for e in ids if moved[e][move] > 1)
            if name == "resolve_with_photo":
                photos = evidence(engine, ids)
                dup += sum(len(p) - 1 for p in photos.values() if len(p) > 1)
                lost += sum(1 for i in volley.acked if not photos[ids[i]])
            out[name] = {"acknowledged_before_kill": len(volley.acked), "lost": lost,
                         "duplicated": dup,
                         "undone_after_resend": sum(1 for e in ids if moved[e][move] == 0)}
        return out
    finally:
        server.stop()
        engine.dispose()


def crash_points(backend: str, url: str, data_dir: Path, args: argparse.Namespace) -> dict:
    prepare_db(url)
    log(f"{backend}: candidates")
    result = {"candidates": crash_candidates(url, data_dir, args.candidates, args.kill_after)}
    log(f"{backend}: review, assign, resolve")
    result.update(crash_verbs(url, data_dir, args.events))
    return result


# ---------------------------------------------------------------- 2. link loss


def link_loss() -> dict:
    from tests.dispatch.test_dispatcher import make_dispatcher, ready

    fleet = Fleet.start(TOWN.docks, clock=SimClock(2.0), base_tcp_port=0)
    updates: list = []

    async def first(kind: str, drone_id: str, wall_s: float = 30.0):
        for _ in range(int(wall_s / 0.01)):
            for u in updates:
                if u.kind == kind and u.drone_id == drone_id:
                    return u
            await asyncio.sleep(0.01)
        raise RuntimeError(f"no {kind} for {drone_id}: {updates}")

    async def main() -> dict:
        dispatcher = make_dispatcher(fleet, updates)
        await ready(dispatcher)
        await dispatcher.dispatch(Incident("beiyuan", *BEIYUAN, target_s=180.0))
        while dispatcher.missions["beiyuan"].stage != "en_route":
            await asyncio.sleep(0.01)
        dropped = fleet.clock.now()
        fleet.vehicles[1].drop_link(15.0)
        replaced = await first("replaced", "dock-northeast")
        sent = await first("assigned", "dock-west")
        recalled = await first("recalled", "dock-northeast", wall_s=40)
        await dispatcher.stop()
        return {"speedup": 2.0, "link_timeout_s": 3.0,
                "replaced_after_s": round((replaced.at - dropped).total_seconds(), 2),
                "next_drone_accepted_after_s": round((sent.at - dropped).total_seconds(), 2),
                "recalled_after_s": round((recalled.at - dropped).total_seconds(), 2),
                "link_down_s": 15.0}

    try:
        return asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        fleet.stop()


# ---------------------------------------------------------------- 3. load


def alerting_places() -> list[tuple[float, float]]:
    """A 100 x 100 grid 22 m apart over the sample town, less the places where a street stall
    is permitted (a market): a stall there is rejected by the zone rules, so it never alerts."""
    from api.core.zones import ZoneIndex
    from api.lifecycle.events import PERMITTED

    settings = Settings()
    zones = ZoneIndex.load(settings.zones_file, default_target_s=settings.default_target_s)
    grid = [(29.49 + (i % 100) * 2e-4, 120.89 + (i // 100) * 2e-4) for i in range(10_000)]
    return [(lat, lon) for lat, lon in grid
            if not any(("street_stall", kind) in PERMITTED for kind in zones.locate(lat, lon).kinds)]


async def drive(urls: list[str], rate: float, seconds: float, operators: int,
                batch_s: float = 0.0) -> dict:
    from api.core.auth import create_token

    det = create_token("det", "detector", secret=TEST_SECRET, ttl_s=7200)
    op = create_token("op", "operator", secret=TEST_SECRET, ttl_s=7200)

    places = alerting_places()

    def body(i: int, key: str) -> dict:
        # places 22 m apart (more than the merge radius): the first pass over them opens events,
        # every later pass is a further sighting merged into one.
        lat, lon = places[i % len(places)]
        return {"source": "bench", "source_event_id": key, "type": "street_stall",
                "lat": lat, "lon": lon, "confidence": 0.9}

    load = await loadgen.run(urls, rate, seconds, token=det, operator_token=op,
                             operators=operators, body=body, batch_s=batch_s)
    f = load.figures()
    window_s = window_of(seconds)
    return {"posted": f["requests"], "acknowledged": f["acknowledged"], "errors": f["errors"],
            "candidates_per_s": f["throughput_per_s"], "seconds": f["seconds"],
            "operators": operators, "alerts_delivered": f["alerts_delivered"],
            "alerts_expected": f["acknowledged"] * operators,
            "http_p99_ms": f["http_p99_ms"],
            "alert_p50_ms": f["alert_p50_ms"], "alert_p99_ms": f["alert_p99_ms"],
            "alert_from_due_p99_ms": f["alert_from_due_p99_ms"],
            "window_s": window_s, "alert_p99_ms_by_window": load.p99_by_window(window_s)}


def window_of(seconds: float) -> float:
    """The length of the windows the run's series are cut in: a minute, or a tenth of a short run."""
    return 60.0 if seconds >= 600 else max(seconds / 10, 1.0)


def load_run(pg_url: str, redis_url: str, data_dir: Path, args: argparse.Namespace,
             batch_s: float = 0.0) -> dict:
    with pg_schema_url_of(pg_url) as url:
        prepare_db(url)
        # As a city runs it: merging on, at the default radius (server_env turns it off).
        radius = str(Settings.model_fields["merge_radius_m"].default)
        env = server_env(url, data_dir, FLYONCE_REDIS_URL=redis_url,
                         FLYONCE_REDIS_CHANNEL=f"flyonce:bench:{uuid.uuid4().hex}",
                         FLYONCE_MERGE_RADIUS_M=radius)
        servers = [QuietServer(env), QuietServer(env)]
        try:
            procs = [psutil.Process(s.proc.pid) for s in servers]
            rss0 = [round(p.memory_info().rss / 2**20, 1) for p in procs]

            def cpu_s() -> float:
                return sum(t.user + t.system for t in (p.cpu_times() for p in procs))

            cpu0 = cpu_s()
            # both processes' RSS at the end of every window, sampled beside the load
            rss_series: list[float] = []
            done = threading.Event()

            def sample() -> None:
                while not done.wait(window_of(args.minutes * 60)):
                    rss_series.append(round(sum(p.memory_info().rss for p in procs) / 2**20, 1))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            try:
                result = asyncio.run(drive([s.url for s in servers], args.rate,
                                           args.minutes * 60, args.operators, batch_s))
            finally:
                done.set()
                sampler.join()
            # the servers' CPU per candidate holds on a busy machine, unlike the wall-clock rate
            result["server_cpu_ms_per_candidate"] = round(
                (cpu_s() - cpu0) / max(result["acknowledged"], 1) * 1000, 2)
            result["rss_mb_start"] = rss0
            result["rss_mb_end"] = [round(p.memory_info().rss / 2**20, 1) for p in procs]
            result["rss_mb_by_window"] = rss_series
            # memory flat: what both processes grew over the run's second half
            half = rss_series[len(rss_series) // 2:] if len(rss_series) >= 2 else []
            result["rss_growth_mb_second_half"] = round(half[-1] - half[0], 1) if half else None
        finally:
            for s in servers:
                s.stop()
    result.update(rate_per_s=args.rate, minutes=args.minutes, processes=2,
                  database="postgresql", bus="redis",
                  posting=f"batches every {batch_s} s" if batch_s else "one POST per candidate")
    return result


def plot_load(path: str, runs: dict[str, dict]) -> None:
    """Alert p99 and the servers' memory over each load run, against the 100 ms target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), dpi=120, sharex=True)
    for name, run in runs.items():
        minutes = [(k + 1) * run["window_s"] / 60 for k in range(len(run["alert_p99_ms_by_window"]))]
        top.plot(minutes, run["alert_p99_ms_by_window"], marker="o", label=run["posting"])
        rss = run["rss_mb_by_window"]
        bottom.plot([(k + 1) * run["window_s"] / 60 for k in range(len(rss))], rss, marker="o",
                    label=run["posting"])
    top.axhline(100, color="crimson", linestyle="--", label="target p99 100 ms")
    top.set_ylabel("alert p99 (ms), POST → operator socket")
    top.set_yscale("log")
    top.legend()
    bottom.set_ylabel("RSS of both serve processes (MB)")
    bottom.set_xlabel("minutes into the run")
    any_run = next(iter(runs.values()))
    fig.suptitle(f"{any_run['rate_per_s']:.0f} candidates/s, two serve processes, PostgreSQL + "
                 f"Redis, {any_run['operators']} operators")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


@contextlib.contextmanager
def pg_schema_url_of(pg_url: str):
    """tests.api.conftest.pg_schema_url reads FLYONCE_TEST_DATABASE_URL; point it at ``pg_url``."""
    from tests.api import conftest

    saved, conftest.PG_URL = conftest.PG_URL, pg_url
    try:
        with pg_schema_url() as url:
            yield url
    finally:
        conftest.PG_URL = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=0.5, help="length of the load run")
    parser.add_argument("--rate", type=float, default=200.0, help="candidates per second")
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--kill-after", type=int, default=668)
    parser.add_argument("--events", type=int, default=150)
    parser.add_argument("--operators", type=int, default=10)
    parser.add_argument("--pg", default=os.environ.get(
        "FLYONCE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis", default=os.environ.get("FLYONCE_TEST_REDIS_URL",
                                                          "redis://127.0.0.1:6379/0"))
    parser.add_argument("--batch-s", type=float, default=0.05,
                        help="the batched load run: each worker posts what came due in this long")
    parser.add_argument("--only", choices=["load"], help="run only this part")
    parser.add_argument("--posting", choices=["both", "single", "batched"], default="both",
                        help="which load runs: one POST per candidate, batched, or both")
    parser.add_argument("--plot", help="write a PNG of the load runs' alert p99 and memory")
    args = parser.parse_args()
    out: dict = {"bench": "reliability", "crash": {}}
    if args.only == "load":
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "b").mkdir()
            out = {"bench": "reliability"}
            if args.posting in ("both", "single"):
                out["load"] = load_run(args.pg, args.redis, Path(tmp), args)
            if args.posting in ("both", "batched"):
                out["load_batched"] = load_run(args.pg, args.redis, Path(tmp) / "b", args,
                                               args.batch_s)
            out["load_average_1min"] = round(os.getloadavg()[0], 2)
        if args.plot:
            plot_load(args.plot, {k: out[k] for k in ("load", "load_batched") if k in out})
        print(json.dumps(out))
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "s").mkdir()
        out["crash"]["sqlite"] = crash_points("sqlite", f"sqlite:///{tmp_path / 's' / 'db.sqlite'}",
                                              tmp_path / "s", args)
        (tmp_path / "p").mkdir()
        with pg_schema_url_of(args.pg) as url:
            out["crash"]["postgresql"] = crash_points("postgresql", url, tmp_path / "p", args)
        log("link loss")
        out["link_loss"] = link_loss()
        log("load")
        (tmp_path / "l").mkdir()
        out["load"] = load_run(args.pg, args.redis, tmp_path / "l", args)
        log("load, batched")
        (tmp_path / "b").mkdir()
        out["load_batched"] = load_run(args.pg, args.redis, tmp_path / "b", args, args.batch_s)
    out["lost_total"] = sum(v["lost"] for db in out["crash"].values() for v in db.values())
    out["duplicated_total"] = sum(v["duplicated"] for db in out["crash"].values()
                                  for v in db.values())
    out["load_average_1min"] = round(os.getloadavg()[0], 2)
    if args.plot:
        plot_load(args.plot, {k: out[k] for k in ("load", "load_batched")})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
