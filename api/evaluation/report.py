"""The closed-loop report: figures and plots over a set of events, as one self-contained HTML file.

What evaluators compare — response times against the 3- and 6-minute targets, the share reached in
time by zone kind, review precision, time to resolve, dispositions — drawn with matplotlib and
embedded as PNG, so the file can be mailed or archived as it is. The demo adds its own sections
(detection recall against ground truth and the like) through `extra_sections`.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from api.core.models import Event  # noqa: E402
from api.evaluation.metrics import summarize  # noqa: E402
from api.evaluation.persuasion_figures import PersuasionFigures  # noqa: E402
from api.lifecycle.events import response_figures  # noqa: E402
from geofence.localtime import DEFAULT_LOCAL_TZ  # noqa: E402

# One colour per zone kind, the web map's (api/web/static/js/map.js ZONE_COLOURS); a kind not
# listed takes the next unused colour of SPARE_COLOURS, in name order, so two kinds never share one.
KIND_COLOURS = {"residential": "#e67e22", "forest": "#27ae60", "no_fly": "#c0392b",
                "no_vending": "#8e44ad", "market": "#16a085", "commercial": "#2980b9",
                "industrial": "#7f8c8d", "none": "#34495e"}
SPARE_COLOURS = ("#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#1f77b4",
                 "#ff7f0e", "#2ca02c", "#7f7f7f")


def kind_colours(kinds: Iterable[str]) -> dict[str, str]:
    """A distinct colour for each of ``kinds``."""
    out = {k: KIND_COLOURS[k] for k in kinds if k in KIND_COLOURS}
    spare = [c for c in SPARE_COLOURS if c not in out.values()]
    for kind in sorted(set(kinds) - set(out)):
        out[kind] = spare.pop(0) if spare else "#000000"
    return out


def local_text(at: datetime, tz: str) -> str:
    """``at`` as "2026-11-25 16:00" in the zone ``tz`` (the pages' date format, minutes)."""
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Section:
    """A block of the report: a heading, an optional HTML body and optional figures (PNG bytes)."""

    title: str
    body_html: str = ""
    figures: Sequence[bytes] = ()


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def response_time_figure(events: Sequence[Event]) -> bytes | None:
    """Histogram of response times by zone kind, one colour per kind, and each kind's target
    (the events' own target, the strictest zone's) marked only for kinds that have events here."""
    fig = response_time_plot(events)
    return None if fig is None else _png(fig)


def response_time_plot(events: Sequence[Event]) -> plt.Figure | None:
    """The figure of ``response_time_figure``, undrawn (its axes can be read)."""
    by_kind: dict[str, list[float]] = defaultdict(list)
    targets: dict[str, list[float]] = defaultdict(list)
    for e in events:
        response_s, _, _ = response_figures(e)
        if response_s is not None:
            by_kind[e.zone_kind or "none"].append(response_s)
            if e.target_s:
                targets[e.zone_kind or "none"].append(e.target_s)
    if not by_kind:
        return None
    colours = kind_colours(by_kind)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    top = max(max(max(v) for v in by_kind.values()), max((max(v) for v in targets.values()), default=0))
    bins = [i * 20 for i in range(int(top // 20) + 2)]
    for kind, values in sorted(by_kind.items()):
        ax.hist(values, bins=bins, alpha=0.6, label=f"{kind} (n={len(values)})", color=colours[kind])
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for i, (kind, values) in enumerate(sorted(targets.items())):
        target = median(values)
        ax.axvline(target, color=colours[kind], linestyle="--", linewidth=1.5)
        ax.text(target, ax.get_ylim()[1] * (0.95 - 0.1 * i), f" {kind} target {target / 60:g} min",
                color=colours[kind], fontsize=8, va="top")
    ax.set_xlabel("response time (alert → on scene), s")
    ax.set_ylabel("events")
    ax.legend(fontsize=8)
    ax.set_title("Response times against the zone targets")
    return fig


def within_target_figure(share_by_kind: dict[str, float], counts_by_kind: dict[str, int]) -> bytes | None:
    """Bar chart: share of reached events that arrived within target, per zone kind."""
    if not share_by_kind:
        return None
    kinds = sorted(share_by_kind)
    colours = kind_colours(kinds)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    bars = ax.bar(kinds, [share_by_kind[k] * 100 for k in kinds], color=[colours[k] for k in kinds])
    for bar, kind in zip(bars, kinds):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 1,
                f"{share_by_kind[kind]:.0%} of {counts_by_kind[kind]}", ha="center", fontsize=8)
    ax.set_ylim(0, 110)
    ax.set_ylabel("% within target")
    ax.set_title("Reached within target, by zone kind")
    return _png(fig)


def counts_figure(title: str, counts: dict[str, int]) -> bytes | None:
    """Horizontal bars of a tally (types, dispositions, states)."""
    if not counts:
        return None
    labels = sorted(counts, key=counts.get)
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.35 * len(labels)))
    ax.barh(labels, [counts[k] for k in labels], color="#5b7db1")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)
    ax.set_xlabel("events")
    return _png(fig)


def resolve_time_figure(events: Sequence[Event]) -> bytes | None:
    """Distribution of time from alert to resolution, in minutes."""
    minutes = [r / 60 for e in events if (r := response_figures(e)[2]) is not None]
    if not minutes:
        return None
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(minutes, bins=20, color="#8e6bb5")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("time to resolve (alert → resolved), min")
    ax.set_ylabel("events")
    ax.set_title("Time to resolve")
    return _png(fig)


def drone_vs_team_figure(figures: PersuasionFigures) -> bytes | None:
    """Stacked bars by event type: resolved by the drone's warning alone vs with a ground team."""
    types = sorted(set(figures.alone_by_type) | set(figures.team_by_type))
    if not types:
        return None
    alone = [figures.alone_by_type.get(t, 0) for t in types]
    team = [figures.team_by_type.get(t, 0) for t in types]
    fig, ax = plt.subplots(figsize=(6, 0.8 + 0.5 * len(types)))
    ax.barh(types, alone, color="#2e7d32", label="drone alone (persuaded, no team)")
    ax.barh(types, team, left=alone, color="#5b7db1", label="ground team")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("resolved events")
    ax.legend(fontsize=8)
    ax.set_title("Resolved by the drone alone vs by a ground team")
    return _png(fig)


def _fmt(value: float | None, unit: str = "", digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}f}{unit}"


def build_report(
    events: Iterable[Event],
    *,
    title: str = "flyonce closed-loop report",
    period: tuple[datetime | None, datetime | None] = (None, None),
    extra_sections: Sequence[Section] | Callable[[], Sequence[Section]] = (),
    persuasion: PersuasionFigures | None = None,
    miss_reasons: Mapping[int, str] | None = None,
    tz: str = DEFAULT_LOCAL_TZ,
    generated_at: datetime | None = None,
) -> str:
    """A self-contained HTML page of figures and plots over `events` (``persuasion``:
    ``api.evaluation.persuasion_figures.load_figures`` over the same events adds the remote-persuasion section;
    ``miss_reasons``, ``api.lifecycle.misses.miss_reasons``, says why late arrivals were late;
    ``extra_sections`` may be a function, called once every figure of this report is drawn, so
    what it states (a run's wall time, say) is known when it is written; times in headers are
    local to ``tz``)."""
    events = list(events)
    summary = summarize(events, persuasion, miss_reasons)
    counts_by_kind: Counter[str] = Counter()
    for e in events:
        if response_figures(e)[0] is not None:
            counts_by_kind[e.zone_kind or "none"] += 1
    rows = [
        ("events", str(summary.events)),
        ("reviewed / confirmed", f"{summary.reviewed} / {summary.confirmed}"),
        ("review precision (confirmed / reviewed)", _fmt(summary.review_precision and summary.review_precision * 100, " %")),
        ("reached on scene", str(summary.reached)),
        ("within target", f"{summary.within_target} of {summary.reached}"
                          + (f" ({summary.within_target_share:.0%})" if summary.within_target_share is not None else "")),
        ("response time p50 / p90", f"{_fmt(summary.response_time_p50_s, ' s')} / {_fmt(summary.response_time_p90_s, ' s')}"),
        ("late arrivals by reason", ", ".join(f"{k} {v}" for k, v in
                                              summary.misses_by_reason.items() if v) or "none"),
        ("time to resolve p50", _fmt(summary.time_to_resolve_p50_s and summary.time_to_resolve_p50_s / 60, " min", 1)),
    ]
    sections = [
        Section("Response", figures=[f for f in (
            response_time_figure(events),
            within_target_figure(summary.within_target_share_by_zone_kind, dict(counts_by_kind)),
        ) if f]),
        Section("Resolution", figures=[f for f in (
            resolve_time_figure(events),
            counts_figure("Dispositions", summary.dispositions),
        ) if f]),
        Section("What was found", figures=[f for f in (
            counts_figure("Events by type", summary.by_type),
            counts_figure("Events by state", summary.by_state),
        ) if f]),
        *([] if persuasion is None else [Section(
            "Remote persuasion",
            body_html=(f"<p>{summary.resolved_without_team} of {summary.persuadable} events warned "
                       "through the drone's speaker were resolved without a ground team"
                       + (f" ({summary.without_team_share:.0%})"
                          if summary.without_team_share is not None else "")
                       + f"; ground-team hours saved: {summary.team_hours_saved:.2f} (each such "
                       "event counts the median team time, tasking to resolution, of team-resolved "
                       "events of its type).</p>"),
            figures=[f for f in (drone_vs_team_figure(persuasion),) if f])]),
    ]
    sections.extend(extra_sections() if callable(extra_sections) else extra_sections)
    since, until = period
    period_text = (f"{local_text(since, tz) if since else 'start'} — {local_text(until, tz) if until else 'now'}"
                   f" ({tz})")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}td{padding:4px 12px;border-bottom:1px solid #ddd}"
        "img{max-width:100%;margin:8px 0}h2{border-bottom:2px solid #5b7db1}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p>Period: {html.escape(period_text)}</p>",
        *([f"<p>Written: {html.escape(local_text(generated_at, tz))} ({html.escape(tz)})</p>"]
          if generated_at else []),
        "<h2>Summary</h2><table id='summary'>",
        *(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows),
        "</table>",
    ]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>{section.body_html}")
        for png in section.figures:
            parts.append(f"<img alt='{html.escape(section.title)}' "
                         f"src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
        if not section.figures and not section.body_html:
            parts.append("<p>No data in this period.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
