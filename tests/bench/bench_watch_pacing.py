"""Watch pacing: the demo's persuasion outcomes when its cameras are slow, with and without the
pacer (api/demo/pacer.py), in the same run.

A loaded machine is made on purpose: every scene check holds the camera thread ``--stall`` wall
seconds more (at 12x, 5 s is 60 mission s, six check periods). The demo then runs the demo
test's scenario twice (``tests.demo.test_demo.persuasion_config``, seed 7: one complying vendor
who leaves 60-90 mission s after the warning, one who stays, the first back again later): the
baseline with the pacer's step disabled, then as shipped. For each warning the line gives the
event, the play's outcome and the event's disposition; the right answers are the ground truth of
the scenario: the complying vendor "persuaded", the stubborn one "stubborn" and then dealt with
by a team.

Run: python tests/bench/bench_watch_pacing.py [--stall 5]   (one JSON line, about 5 minutes)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlmodel import Session, select

from api.core.models import Event, Persuasion
from api.demo import camera, pacer
from api.demo.orchestrator import Demo
from tests.demo.test_demo import persuasion_config


def run(stall_s: float, paced: bool, data_dir: Path) -> dict:
    check, step = camera.PatrolCameras.scene_check, pacer.WatchPacer.step

    def slow_check(self, *a, **kw):
        time.sleep(stall_s)
        return check(self, *a, **kw)

    camera.PatrolCameras.scene_check = slow_check
    if not paced:
        pacer.WatchPacer.step = lambda self: None
    demo = Demo(persuasion_config(data_dir))
    t0 = time.perf_counter()
    try:
        result = demo.run()
        with Session(demo.app.state.engine) as session:
            plays = []
            for p in session.exec(select(Persuasion).order_by(Persuasion.id)).all():
                e = session.get(Event, p.event_id)
                plays.append({"event": e.source_event_id, "complies": demo.scenario.complies.get(
                    int(e.source_event_id.split("-")[1]), None)
                    if e.source_event_id.startswith("call-") else None,
                    "outcome": p.outcome, "disposition": e.disposition})
        right = sum((p["complies"] is True and p["outcome"] == "persuaded")
                    or (p["complies"] is False and p["outcome"] == "stubborn") for p in plays)
        return {"plays": plays, "right": right, "scene_checks": demo._cameras.stats.scene_checks,
                "holds": result.timings.watch_holds,
                "held_wall_s": round(result.timings.watch_held_s, 1),
                "wall_s": round(time.perf_counter() - t0, 1)}
    finally:
        demo.close()
        camera.PatrolCameras.scene_check, pacer.WatchPacer.step = check, step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stall", type=float, default=5.0,
                    help="extra wall s every scene check holds the camera thread")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        unpaced = run(args.stall, False, Path(tmp) / "unpaced")
        paced = run(args.stall, True, Path(tmp) / "paced")
    print(json.dumps({"bench": "watch_pacing", "stall_s": args.stall, "unpaced": unpaced,
                      "paced": paced, "machine": platform.machine()}))


if __name__ == "__main__":
    main()
