"""The HTML report: its figures follow from the stage times, and its plots are real images."""

from __future__ import annotations

import base64
import io
import re
from datetime import timedelta

from PIL import Image

from api.core.models import Event
from api.evaluation.report import build_report
from tests.api.conftest import START


def _event(kind: str, target_s: float, response_s: float | None, state: str = "evaluated",
           disposition: str | None = "removed") -> Event:
    alerted = START
    return Event(
        type="street_stall", state=state, lat=29.5, lon=120.9, confidence=0.9, source="t",
        source_event_id=f"{kind}-{response_s}", zone_kind=kind, target_s=target_s,
        detected_at=START, alerted_at=alerted, reviewed_at=alerted + timedelta(seconds=5),
        on_scene_at=None if response_s is None else alerted + timedelta(seconds=response_s),
        resolved_at=None if response_s is None else alerted + timedelta(seconds=response_s + 600),
        disposition=disposition if response_s is not None else None,
    )


def test_report_figures_and_plots() -> None:
    events = [
        _event("residential", 180, 100),  # within the 3-minute target
        _event("residential", 180, 200),  # 20 s late
        _event("forest", 360, 300),  # within the 6-minute target
    ]
    rejected = _event("residential", 180, None, state="rejected")
    rejected.reject_reason = "a parked van"
    page = build_report([*events, rejected], title="test report")
    summary = dict(re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", page))
    assert summary["events"] == "4"
    assert summary["within target"] == "2 of 3 (67%)"
    assert summary["reviewed / confirmed"] == "4 / 3"
    assert summary["response time p50 / p90"] == "200 s / 280 s"  # p90 of 100, 200, 300 by interpolation
    assert summary["time to resolve p50"] == "13.3 min"  # (200 + 600) s
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(images) == 6  # response, within-target, resolve, dispositions, types, states
    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as img:
            assert img.format == "PNG" and img.width > 300


def test_empty_period_says_so() -> None:
    page = build_report([])
    assert page.count("No data in this period.") == 3
