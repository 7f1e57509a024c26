"""Hot spots: confirmed violations that recur at one place, the hours of day they happen, and when to
patrol there. Served by GET /api/v1/hotspots, drawn on the evaluator's map and in `flyonce report`.

How a place is found: positions go into a local metric frame (an azimuthal equidistant projection
centred on the violations, geofence.LocalFrame) and are snapped to 5 m cells. The cell with the
most violations within `link_m` of it (the service passes FLYONCE_OFFENCE_RADIUS_M, 50 m: the
same place as for repeats) seeds a spot that takes every cell within `link_m` of the seed; the
busiest remaining cell seeds the next, and so on. A spot is therefore a place at most `link_m`
from its seed, never a whole street: single-linkage clustering (DBSCAN with one neighbour) chains
a street with a stall every 40 m, or a busy town over a year, into one meaningless blob. scipy's
KD-tree does the neighbour searches; snapping keeps a corner with thousands of violations at a few
hundred cells, at the price of deciding "within `link_m`" to within 7 m (each position moves by at
most 3.5 m).

Suggested patrol times: the busiest local hours of day (Asia/Shanghai by default), taken busiest
first until they hold at least 80 % of the spot's violations or four hours are chosen; adjacent
hours are joined into one window (23:00–01:00 wraps midnight), windows busiest first, ties to the
earlier hour. Five violations at 08:xx and three at 17:xx suggest 08:00–09:00, then 17:00–18:00.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from scipy.spatial import cKDTree
from sqlmodel import Session

from api.core.models import Event
from api.evaluation.schemas import HotSpot, PatrolWindow
from api.lifecycle.offences import confirmed_violation
from api.lifecycle.queries import events_query

LINK_M = 50.0
CELL_M = 5.0
PATROL_COVERAGE = 0.8
MAX_PATROL_HOURS = 4
LATEST_IDS = 10


@dataclass(frozen=True)
class Violation:
    """What clustering needs of a confirmed violation."""

    id: int
    type: str
    lat: float
    lon: float
    detected_at: datetime


def clusters_of(east_m: np.ndarray, north_m: np.ndarray, link_m: float = LINK_M,
                cell_m: float = CELL_M) -> np.ndarray:
    """A spot label per point (local metres): each spot lies within `link_m` of its busiest cell."""
    if len(east_m) == 0:
        return np.zeros(0, dtype=int)
    cells = np.stack([np.round(east_m / cell_m), np.round(north_m / cell_m)], axis=1)
    unique, point_cell, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
    neighbours = cKDTree(unique * cell_m).query_ball_point(unique * cell_m, link_m)
    density = np.array([counts[n].sum() for n in neighbours])
    cell_label = np.full(len(unique), -1)
    # Busiest neighbourhood first; ties to the lower cell (west, then south) so runs repeat.
    for label, seed in enumerate(np.lexsort((np.arange(len(unique)), -density))):
        if cell_label[seed] >= 0:
            continue
        free = [c for c in neighbours[seed] if cell_label[c] < 0]
        cell_label[free] = label
    return cell_label[point_cell.ravel()]


def patrol_windows(hours: Sequence[int], coverage: float = PATROL_COVERAGE,
                   max_hours: int = MAX_PATROL_HOURS) -> list[PatrolWindow]:
    """The busiest hours holding ≥ `coverage` of the violations (at most `max_hours`), as windows."""
    total = sum(hours)
    chosen: list[int] = []
    covered = 0
    for hour in sorted(range(24), key=lambda h: (-hours[h], h)):
        if hours[hour] == 0 or len(chosen) == max_hours or covered >= coverage * total:
            break
        chosen.append(hour)
        covered += hours[hour]
    runs: list[list[int]] = []
    for hour in sorted(chosen):
        if runs and runs[-1][-1] == hour - 1:
            runs[-1].append(hour)
        else:
            runs.append([hour])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == 23:  # 23:00 and 00:00 are neighbours
        runs[0] = runs.pop() + runs[0]
    windows = [PatrolWindow(start=f"{run[0]:02d}:00", end=f"{(run[-1] + 1) % 24:02d}:00",
                            violations=sum(hours[h] for h in run)) for run in runs]
    return sorted(windows, key=lambda w: (-w.violations, w.start))


def hot_spots(violations: Iterable[Violation], *, tz: str = "Asia/Shanghai", link_m: float = LINK_M,
              min_count: int = 2) -> list[HotSpot]:
    """Places with at least `min_count` violations, most violations first."""
    from geofence import LocalFrame

    items = list(violations)
    if not items:
        return []
    lats = np.array([v.lat for v in items])
    lons = np.array([v.lon for v in items])
    frame = LocalFrame(float(lats.mean()), float(lons.mean()))
    east, north = (np.asarray(a) for a in frame.to_local(lats, lons))
    labels = clusters_of(east, north, link_m)
    zone = ZoneInfo(tz)
    spots = []
    order = np.argsort(labels, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(labels[order]) != 0])
    for members in np.split(order, starts[1:]):
        if len(members) < min_count:
            continue
        ce, cn = float(east[members].mean()), float(north[members].mean())
        lat, lon = frame.to_wgs84(ce, cn)
        hours = [0] * 24
        for i in members:
            hours[items[i].detected_at.astimezone(zone).hour] += 1
        newest = sorted(members, key=lambda i: (items[i].detected_at, items[i].id), reverse=True)
        spots.append(HotSpot(
            lat=float(lat), lon=float(lon), count=len(members),
            radius_m=float(np.hypot(east[members] - ce, north[members] - cn).max()),
            by_type=dict(Counter(items[i].type for i in members)),
            hours=hours, patrol_windows=patrol_windows(hours),
            first_at=items[newest[-1]].detected_at, last_at=items[newest[0]].detected_at,
            latest_event_ids=[items[i].id for i in newest[:LATEST_IDS]],
        ))
    return sorted(spots, key=lambda s: (-s.count, -s.last_at.timestamp()))


def hours_figure(violations: Sequence[Violation], tz: str) -> bytes | None:
    """Bar chart of confirmed violations by local hour of day, PNG."""
    from api.evaluation.report import _png, plt

    if not violations:
        return None
    zone = ZoneInfo(tz)
    hours = Counter(v.detected_at.astimezone(zone).hour for v in violations)
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(range(24), [hours.get(h, 0) for h in range(24)], color="#c0392b")
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlabel(f"hour of day ({tz})")
    ax.set_ylabel("confirmed violations")
    ax.set_title("Violations by hour of day")
    return _png(fig)


def report_section(events: Iterable, *, tz: str = "Asia/Shanghai", top: int = 10):
    """The report's "Hot spots" Section over ORM events: the hour-of-day plot and the top spots."""
    from api.evaluation.report import Section
    from api.lifecycle.offences import is_confirmed_violation

    violations = [Violation(e.id, e.type, e.lat, e.lon, e.detected_at)
                  for e in events if is_confirmed_violation(e)]
    spots = hot_spots(violations, tz=tz)
    figure = hours_figure(violations, tz)
    if not spots:
        body = "<p>No place had two or more confirmed violations in this period.</p>" if violations else ""
        return Section("Hot spots", body_html=body, figures=[figure] if figure else [])
    rows = "".join(
        f"<tr><td>{s.lat:.5f}, {s.lon:.5f}</td><td>{s.count}</td><td>{s.radius_m:.0f} m</td>"
        f"<td>{html.escape(', '.join(f'{k} {n}' for k, n in sorted(s.by_type.items())))}</td>"
        f"<td>{html.escape(', '.join(f'{w.start}–{w.end} ({w.violations})' for w in s.patrol_windows))}</td></tr>"
        for s in spots[:top])
    body = (f"<p>{len(spots)} places with repeated confirmed violations; suggested patrol times in "
            f"{html.escape(tz)}, busiest first.</p><table id='hotspots'><tr><th>centre</th><th>violations</th>"
            f"<th>extent</th><th>types</th><th>suggested patrol times</th></tr>{rows}</table>")
    return Section("Hot spots", body_html=body, figures=[figure] if figure else [])


def confirmed_violations(session: Session, *, since: datetime | None = None, until: datetime | None = None,
                         types: list[str] | None = None, zone_kind: str | None = None,
                         zone_id: str | None = None) -> list[Violation]:
    """The confirmed violations detected in [since, until), as plain rows (no ORM objects)."""
    query = events_query(since=since, until=until, zone_kind=zone_kind, zone_id=zone_id)
    query = query.where(confirmed_violation())
    if types:
        query = query.where(Event.type.in_(types))
    rows = session.execute(query.with_only_columns(
        Event.id, Event.type, Event.lat, Event.lon, Event.detected_at)).all()
    return [Violation(*row) for row in rows]
