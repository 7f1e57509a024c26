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


def test_response_plot_gives_each_kind_its_colour_and_its_own_target_only() -> None:
    from matplotlib.colors import to_hex

    from api.evaluation.report import response_time_plot

    # commercial (300 s target) and residential have events; forest has none.
    events = [_event("residential", 180, 100), _event("residential", 180, 130),
              _event("commercial", 300, 250), _event("commercial", 300, 290),
              _event("market", 300, 40)]
    fig = response_time_plot(events)
    ax = fig.axes[0]
    bar_colours = {}
    for container, kind in zip(ax.containers, ["commercial", "market", "residential"], strict=True):
        bar_colours[kind] = {to_hex(p.get_facecolor()[:3]) for p in container.patches}
    assert bar_colours == {"commercial": {"#2980b9"}, "market": {"#16a085"}, "residential": {"#e67e22"}}
    lines = sorted((line.get_xdata()[0], to_hex(line.get_color())) for line in ax.lines)
    # one dashed target per kind with events, at its own target: no forest line, a commercial one
    assert lines == [(180, "#e67e22"), (300, "#16a085"), (300, "#2980b9")]
    ticks = ax.get_yticks()
    assert all(float(t).is_integer() for t in ticks)
    # the counts are 1 or 2 per bin: whole-number ticks only, no 0.5
    assert 0.5 not in list(ticks)


def test_kind_colours_never_repeat() -> None:
    from api.evaluation.report import kind_colours

    kinds = ["residential", "forest", "commercial", "school", "substation", "harbour", "none"]
    colours = kind_colours(kinds)
    assert set(colours) == set(kinds) and len(set(colours.values())) == len(kinds)


def test_headers_are_in_local_time() -> None:
    from datetime import UTC, datetime

    since = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    page = build_report([_event("forest", 360, 200)], period=(since, since + timedelta(hours=2)),
                        generated_at=since + timedelta(hours=3))
    assert "Period: 2026-11-25 16:00 — 2026-11-25 18:00 (Asia/Shanghai)" in page
    assert "Written: 2026-11-25 19:00 (Asia/Shanghai)" in page


def test_extra_sections_are_made_after_the_reports_figures(monkeypatch) -> None:
    import api.evaluation.report as report

    order: list[str] = []
    real = report.response_time_figure

    def spy(events):
        order.append("figure")
        return real(events)

    monkeypatch.setattr(report, "response_time_figure", spy)
    page = build_report([_event("forest", 360, 200)],
                        extra_sections=lambda: order.append("extra") or [report.Section("Wall", "<p>42 s</p>")])
    assert order == ["figure", "extra"]
    assert "<h2>Wall</h2><p>42 s</p>" in page
