"""The demo scored against its ground truth: detection, georeference, latency, the loop's figures.

Every placed violation the patrol cameras had in view (its true box in at least one rendered
frame) is *covered*; a covered violation is *detected* when an event from a detector lies within
``MATCH_RADIUS_M`` of it (one event per violation, nearest first), otherwise *missed*. Events
near no placed violation are false alarms; further events on an already matched one are
duplicates. Response times are the service's own (on scene − alerted).

One violation, one event (``api.lifecycle.merge``): every *alerted* event from any source
(detectors and hotline calls alike) is matched to its nearest placed violation within
``MATCH_RADIUS_M``; *alerts per true violation* is the alerted events so matched over the
violations that got one (1.00 is the goal, a stall that came back after it was dealt with counts
twice), and *duplicate alerts* the matched ones alerted while an earlier one on the same
violation was still open (0 is the goal). Sightings merged into an event are not alerts.

Remote persuasion is scored the same way (``score_persuasion``): the service's view — events
resolved by the drone's warning alone, stubborn ones a team handled — beside the truth: which
vendors heard a warning and complied, and whether a stall resolved as persuaded had really gone.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from api.core.models import Event
from api.lifecycle.events import percentile, response_figures

MATCH_RADIUS_M = 20.0


@dataclass
class Scorecard:
    """The run's figures; lists hold one value per event or violation for the plots."""

    placed: int = 0
    covered: int = 0
    detected: int = 0
    missed: int = 0
    detected_outside_coverage: int = 0
    detector_events: int = 0
    true_events: int = 0
    duplicates: int = 0
    false_events: int = 0
    # one violation, one event: alerted events (any source) per placed violation they match
    alerted_true: int = 0
    violations_alerted: int = 0
    duplicate_alerts: int = 0
    merged_sightings: int = 0
    type_correct: int = 0
    recall: float | None = None  # of the violations the patrol cameras had in view
    recall_placed: float | None = None  # of every placed violation, in view or not
    precision: float | None = None
    georef_error_m: list[float] = field(default_factory=list)
    seen_to_alert_s: list[float] = field(default_factory=list)
    appear_to_alert_s: list[float] = field(default_factory=list)
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    events: int = 0
    confirmed: int = 0
    confirmed_closed: int = 0
    open_events: int = 0
    response_s: list[float] = field(default_factory=list)
    within_target: int = 0
    reached: int = 0
    dispositions: dict[str, int] = field(default_factory=dict)
    operator_reviewed: int = 0
    operator_correct: int = 0
    frames: int = 0
    frames_due: float = 0.0
    spacing_m: float = 0.0
    missed_ids: list[int] = field(default_factory=list)
    detected_ids: list[int] = field(default_factory=list)
    # zoom to verify (api/demo/camera.py): single looks checked before posting
    verify_looks: int = 0
    verify_s: float = 0.0
    posted_sure: int = 0
    dismissed: int = 0
    dismissed_at_truth: int = 0  # ... of which lay within MATCH_RADIUS_M of a placed violation
    # remote persuasion (score_persuasion) and the other issue-9 lines (set by the orchestrator)
    warned: int = 0  # events a warning was played (or tried) on
    persuaded_alone: int = 0  # resolved persuaded with no ground team
    persuaded_really_left: int = 0  # ... whose vendor had truly gone (ground truth)
    stubborn_by_team: int = 0  # warned, stayed, a team was tasked and resolved it
    failed_plays: int = 0
    vendors_heard: int = 0
    vendors_complied: int = 0
    without_team_share: float | None = None
    team_hours_saved: float = 0.0
    repeat_line: str = "—"
    repeat_flagged: bool = False
    code_line: str = "—"
    patrol_week_line: str = "—"
    fleet_line: str = "—"

    @property
    def alerts_per_violation(self) -> float | None:
        """Alerted events matched to a placed violation, per violation alerted (goal 1.00)."""
        return self.alerted_true / self.violations_alerted if self.violations_alerted else None

    @property
    def frame_share(self) -> float | None:
        """Frames taken over frames that full coverage of the patrolled path needed."""
        return self.frames / self.frames_due if self.frames_due else None


def _score_alerts(card: Scorecard, scenario, events: list[Event]) -> None:
    """Alerts per true violation and duplicate alerts (see the module docstring).

    A further alert on a violation is a duplicate only while an earlier alerted event on it is
    still open (alerted before that one was resolved or rejected): a stall that comes back after
    it was dealt with is a new occurrence, rightly a new alert.
    """
    frame = scenario.town.frame
    per_violation: dict[int, list[Event]] = {}
    for e in events:
        card.merged_sightings += max((e.candidates or 1) - 1, 0)
        if e.alerted_at is None:
            continue
        east, north = frame.to_local(e.lat, e.lon)
        near = min(((math.hypot(i.east_m - east, i.north_m - north), i.object_id)
                    for i in scenario.incidents), default=None)
        if near is not None and near[0] <= MATCH_RADIUS_M:
            per_violation.setdefault(near[1], []).append(e)
    card.alerted_true = sum(len(v) for v in per_violation.values())
    card.violations_alerted = len(per_violation)
    for alerts in per_violation.values():
        alerts.sort(key=lambda e: (e.alerted_at, e.id or 0))
        for k, e in enumerate(alerts):
            card.duplicate_alerts += any(_closed_at(d) is None or e.alerted_at < _closed_at(d)
                                         for d in alerts[:k])


def _closed_at(e: Event) -> datetime | None:
    """When an event stopped being open: resolved, or reviewed as rejected; None while open."""
    if e.resolved_at is not None:
        return e.resolved_at
    rejected = e.reject_reason is not None or e.state == "rejected"
    return e.reviewed_at if rejected else None


def _mission_s(at: datetime | None, t0: datetime) -> float | None:
    return None if at is None else (at - t0).total_seconds()


def score(scenario, cameras, events: list[Event], *, t0: datetime, operator=None,
          spacing_m: float = 0.0) -> Scorecard:
    """The scorecard of one run: ``cameras`` is the PatrolCameras' stats, ``t0`` mission 0."""
    card = Scorecard(placed=len(scenario.incidents), frames=cameras.frames,
                     frames_due=cameras.frames_due, spacing_m=spacing_m, events=len(events))
    frame = scenario.town.frame
    covered = {i.object_id for i in scenario.incidents if i.object_id in cameras.first_seen_s}
    card.covered = len(covered)
    detector = [e for e in events if e.source.startswith("detector:")]
    card.detector_events = len(detector)
    pairs = []
    for e in detector:
        east, north = frame.to_local(e.lat, e.lon)
        for inc in scenario.incidents:
            d = math.hypot(inc.east_m - east, inc.north_m - north)
            if d <= MATCH_RADIUS_M:
                pairs.append((d, e.id, inc))
    matched: dict[int, tuple[Event, float]] = {}
    used: set[int] = set()
    near_truth: set[int] = set()
    by_id = {e.id: e for e in detector}
    for d, eid, inc in sorted(pairs, key=lambda p: (p[0], p[1])):
        near_truth.add(eid)
        if eid in used or inc.object_id in matched:
            continue
        used.add(eid)
        matched[inc.object_id] = (by_id[eid], d)
    card.true_events = len(near_truth)
    card.duplicates = len(near_truth) - len(used)
    card.false_events = card.detector_events - card.true_events
    per_type: dict[str, Counter] = {}
    for inc in scenario.incidents:
        c = per_type.setdefault(inc.type, Counter())
        c["placed"] += 1
        if inc.object_id in covered:
            c["covered"] += 1
            if inc.object_id in matched:
                c["detected"] += 1
                card.detected_ids.append(inc.object_id)
            else:
                c["missed"] += 1
                card.missed_ids.append(inc.object_id)
        elif inc.object_id in matched:
            card.detected_outside_coverage += 1
        if inc.object_id in matched:
            event, d = matched[inc.object_id]
            card.georef_error_m.append(d)
            card.type_correct += int(event.type == inc.type)
            alerted = _mission_s(event.alerted_at, t0)
            if alerted is not None:
                seen = cameras.first_seen_s.get(inc.object_id)
                if seen is not None:
                    card.seen_to_alert_s.append(alerted - seen)
                card.appear_to_alert_s.append(alerted - inc.appear_s)
    card.by_type = {k: dict(v) for k, v in sorted(per_type.items())}
    _score_alerts(card, scenario, events)
    card.verify_looks, card.posted_sure = cameras.verify_looks, cameras.posted_sure
    card.verify_s = cameras.verify_s
    card.dismissed = len(cameras.dismissed)
    for c in cameras.dismissed.values():
        east, north = frame.to_local(c.lat, c.lon)
        card.dismissed_at_truth += any(math.hypot(i.east_m - east, i.north_m - north)
                                       <= MATCH_RADIUS_M for i in scenario.incidents)
    card.detected, card.missed = len(card.detected_ids), len(card.missed_ids)
    card.recall = card.detected / card.covered if card.covered else None
    # A violation no camera saw is a miss too: recall of all placed counts it against the run.
    card.recall_placed = ((card.detected + card.detected_outside_coverage) / card.placed
                          if card.placed else None)
    card.precision = card.true_events / card.detector_events if card.detector_events else None
    closed = {"resolved", "evaluated"}
    for e in events:
        confirmed = e.reviewed_at is not None and e.reject_reason is None and e.state != "rejected"
        card.confirmed += int(confirmed)
        card.confirmed_closed += int(confirmed and e.state in closed)
        card.open_events += int(e.state in ("alerted", "confirmed", "assigned", "on_scene"))
        response_s, within, _ = response_figures(e)
        if response_s is not None:
            card.response_s.append(response_s)
            card.reached += 1
            card.within_target += int(bool(within))
        if e.disposition:
            card.dispositions[e.disposition] = card.dispositions.get(e.disposition, 0) + 1
    if operator is not None:
        card.operator_reviewed, card.operator_correct = operator.reviewed, operator.correct
    return card


def score_persuasion(card: Scorecard, scenario, events: list[Event], persuasions: list,
                     team_tasks: list, figures, heard: list[tuple[float, str, int, bool]], *,
                     t0: datetime) -> None:
    """Fill ``card``'s persuasion figures: ``persuasions`` and ``team_tasks`` are the service's
    rows, ``figures`` its ``api.evaluation.persuasion_figures.PersuasionFigures``, ``heard`` (mission s, drone,
    object id, complied) what the scenario's vendors heard."""
    by_event: dict[int, list] = {}
    for p in persuasions:
        by_event.setdefault(p.event_id, []).append(p)
    teamed = {t.event_id for t in team_tasks if t.state != "cancelled"}
    card.warned = len(by_event)
    card.failed_plays = sum(p.outcome == "failed" for p in persuasions)
    closed = {"resolved", "evaluated"}
    for e in events:
        if e.id not in by_event:
            continue
        if e.disposition == "persuaded" and e.id not in teamed and e.resolved_at is not None:
            card.persuaded_alone += 1
            t_s = _mission_s(e.resolved_at, t0)
            card.persuaded_really_left += int(
                scenario.active_near(e.lat, e.lon, t_s, MATCH_RADIUS_M) is None)
        elif e.id in teamed and e.state in closed and any(
                p.outcome in ("stubborn", "failed") for p in by_event[e.id]):
            card.stubborn_by_team += 1
    vendors = {}
    for _t, _drone, oid, complied in heard:
        vendors.setdefault(oid, complied)
    card.vendors_heard, card.vendors_complied = len(vendors), sum(vendors.values())
    card.without_team_share, card.team_hours_saved = (figures.without_team_share,
                                                      figures.team_s_saved / 3600.0)
    # the repeat offender: the events at its place, in order; the later one should be a repeat
    rid = scenario.repeat_id
    inc = next((i for i in scenario.incidents if i.object_id == rid), None)
    if inc is None:
        card.repeat_line = "no street stall placed: nothing can repeat"
        return
    frame = scenario.town.frame
    there = sorted((e for e in events if e.type == inc.type and e.reviewed_at is not None
                    and e.reject_reason is None and math.hypot(
                        *(a - b for a, b in zip(frame.to_local(e.lat, e.lon),
                                                (inc.east_m, inc.north_m)))) <= MATCH_RADIUS_M),
                   key=lambda e: e.id)
    repeats = [e for e in there if e.offence == "repeat"]
    card.repeat_flagged = bool(repeats)
    if repeats:
        r = repeats[0]
        card.repeat_line = (f"yes: event #{r.id} at the place of #{there[0].id} flagged repeat "
                            f"(suggested {r.suggested_disposition or '—'})")
    elif scenario.back_at_s(rid) is None:
        card.repeat_line = "no: the repeat stall was never dealt with, so it never came back"
    elif len(there) < 2:
        card.repeat_line = "no: the stall came back but was not confirmed again before the end"
    else:
        card.repeat_line = f"NO: events {[e.id for e in there]} at one place, none flagged repeat"


def _fmt(value: float | None, unit: str = "", digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}f}{unit}"


def scorecard_rows(card: Scorecard, timings) -> list[tuple[str, str]]:
    """The scorecard as (figure, value) rows, for the terminal and the report."""
    p50 = percentile(card.response_s, 0.5)
    return [
        ("placed violations", str(card.placed)),
        ("in the patrols' view (covered)", str(card.covered)),
        ("detected / missed", f"{card.detected} / {card.missed}"),
        ("detection recall (of covered)", _fmt(card.recall and card.recall * 100, " %")),
        ("detection recall (of all placed)",
         _fmt(None if card.recall_placed is None else card.recall_placed * 100, " %")),
        ("detector events: true / duplicate / false",
         f"{card.true_events - card.duplicates} / {card.duplicates} / {card.false_events}"),
        ("detection precision", _fmt(card.precision and card.precision * 100, " %")),
        ("alerts per true violation / duplicate alerts (sightings merged)",
         (f"{_fmt(card.alerts_per_violation, '', 2)} / {card.duplicate_alerts} "
          f"({card.merged_sightings})")),
        ("candidates: zoom looks (wall) / posted sure / dismissed (at a violation)",
         (f"{card.verify_looks} ({card.verify_s:.0f} s) / {card.posted_sure} / "
          f"{card.dismissed} ({card.dismissed_at_truth})")),
        ("georeference error p50", _fmt(percentile(card.georef_error_m, 0.5), " m", 1)),
        ("alert latency (first frame → alert) p50",
         _fmt(percentile(card.seen_to_alert_s, 0.5), " s", 1)),
        ("confirmed events closed", f"{card.confirmed_closed} of {card.confirmed}"),
        ("reached on scene / within target", f"{card.reached} / {card.within_target}"),
        ("response time p50", _fmt(p50, " s")),
        ("operator decisions right", f"{card.operator_correct} of {card.operator_reviewed}"),
        ("stalls warned by a drone's speaker", f"{card.warned} ({card.failed_plays} plays failed)"),
        ("persuaded without a ground team (vendor really gone)",
         f"{card.persuaded_alone} ({card.persuaded_really_left})"),
        ("stubborn, handled by a ground team", str(card.stubborn_by_team)),
        ("vendors who heard a warning / complied", f"{card.vendors_heard} / {card.vendors_complied}"),
        ("share resolved without a team / team hours saved",
         (f"{_fmt(None if card.without_team_share is None else card.without_team_share * 100, ' %')}"
          f" / {card.team_hours_saved:.2f} h")),
        ("repeat offence flagged", card.repeat_line),
        ("a task's public code page opened", card.code_line),
        ("a week of department requests: merged vs alone", card.patrol_week_line),
        ("fleet: MAVLink copters / DJI docks (drone tasks sent, warnings spoken)", card.fleet_line),
        ("frames taken / due for full coverage",
         f"{card.frames} / {card.frames_due:.0f}"
         + (f" ({card.frame_share:.0%})" if card.frame_share is not None else "")),
        ("clock: speed-up run / patrol frame measured before the mission",
         (f"{timings.speedup:g}x" if timings.speedup else "—")
         + (f" / {timings.frame_s:.2f} s" if timings.frame_s else "")),
        ("clock held at 1x for the scene checks of a watch (times, wall s)",
         f"{timings.watch_holds} / {timings.watch_held_s:.0f} s"),
        ("wall time: total (setup, mission, wind-down)",
         (f"{timings.total_s:.0f} s ({timings.setup_s:.0f}, {timings.mission_s:.0f}, "
         f"{timings.wind_down_s:.0f})")),
        ("wall time: rendering / detection / posting / people",
         (f"{timings.render_s:.0f} / {timings.detect_s:.0f} / {timings.post_s:.0f} / "
         f"{timings.actors_s:.0f} s")),
        *((f"CPU during the mission: {part}", f"{cpu:.0f} s") for part, cpu in timings.cpu_s.items()),
    ]


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _hist(values: list[float], xlabel: str, title: str, colour: str) -> bytes | None:
    if not values:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(values, bins=min(20, max(5, len(values))), color=colour)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title)
    return _png(fig)


def detection_figure(card: Scorecard) -> bytes | None:
    """Bars per violation type: covered violations detected and missed."""
    if not card.by_type:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(card.by_type)
    det = [card.by_type[k].get("detected", 0) for k in kinds]
    mis = [card.by_type[k].get("missed", 0) for k in kinds]
    out = [card.by_type[k].get("placed", 0) - card.by_type[k].get("covered", 0) for k in kinds]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh(kinds, det, color="#2e7d32", label="detected")
    ax.barh(kinds, mis, left=det, color="#d9534f", label="missed")
    ax.barh(kinds, out, left=[a + b for a, b in zip(det, mis)], color="#bbbbbb",
            label="never in view")
    ax.set_xlabel("placed violations")
    ax.set_title("Detection against the placed ground truth")
    ax.legend(fontsize=8)
    return _png(fig)


def report_sections(card: Scorecard, timings) -> list:
    """The demo's own sections of the closed-loop report (``api.evaluation.report.Section``)."""
    import html

    from api.evaluation.report import Section

    table = "<table>" + "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                                for k, v in scorecard_rows(card, timings)) + "</table>"
    return [
        Section("Scorecard against ground truth", table),
        Section("Detection recall and precision", (
            f"<p>Recall {_fmt(card.recall and card.recall * 100, ' %')} of the {card.covered} "
            f"violations the patrol cameras had in view, "
            f"{_fmt(None if card.recall_placed is None else card.recall_placed * 100, ' %')} of all "
            f"{card.placed} placed; precision "
            f"{_fmt(card.precision and card.precision * 100, ' %')} of {card.detector_events} "
            f"detector events (an event is true within {MATCH_RADIUS_M:g} m of a placed "
            "violation).</p>"), [f for f in (detection_figure(card),) if f]),
        Section("Georeference error", "<p>Distance from each true event to its violation.</p>"
                if card.georef_error_m else "<p>No detector event matched a placed violation: "
                "nothing to measure.</p>",
                [f for f in (_hist(card.georef_error_m, "georeference error, m",
                                   "Event position vs placed violation", "#5b7db1"),) if f]),
        Section("Alert latency", ("<p>Mission seconds from the first frame that showed a "
                "violation (and from its appearance) to the alert on the console.</p>")
                if card.appear_to_alert_s else "<p>No detected violation was alerted.</p>",
                [f for f in (
                    _hist(card.seen_to_alert_s, "first frame → alert, s", "Alert latency",
                          "#8e6bb5"),
                    _hist(card.appear_to_alert_s, "appeared → alert, s",
                          "From appearance to alert", "#b58e6b")) if f]),
    ]
