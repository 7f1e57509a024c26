"""`flyonce demo`: the whole closed loop on one machine, scored against ground truth.

    from api.demo import Demo, DemoConfig
    with Demo(DemoConfig(drones=2, duration_min=4, speedup=12)) as demo:
        result = demo.run()
    result.scorecard.recall, result.report_path

Modules: ``scenario`` (the town and its incidents over mission time), ``camera`` (patrol
cameras: render, detect, post), ``actors`` (simulated operator and ground teams), ``orchestrator``
(staging and the run), ``scoring`` (the scorecard and the report's sections), ``cli``.
Importing the package loads nothing heavy; the names below load on first use.
"""

from __future__ import annotations

from typing import Any

from api.demo.errors import BadScenario, DemoError, StageFailed

__all__ = ["BadScenario", "Demo", "DemoConfig", "DemoError", "DemoResult", "StageFailed",
           "Timings"]


def __getattr__(name: str) -> Any:
    if name in ("Demo", "DemoConfig", "DemoResult", "Timings"):
        from api.demo import orchestrator

        return getattr(orchestrator, name)
    raise AttributeError(f"module 'api.demo' has no attribute {name!r}")
