"""Closed-loop figures over a set of events: what evaluators read."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from api.core.models import Event
from api.evaluation.schemas import Summary
from api.lifecycle.events import percentile, response_figures
from api.lifecycle.misses import MISS_REASONS, UNKNOWN
from api.lifecycle.states import State

if TYPE_CHECKING:
    from api.evaluation.persuasion_figures import PersuasionFigures

REVIEWED = {State.CONFIRMED, State.ASSIGNED, State.ON_SCENE, State.RESOLVED, State.EVALUATED}


def summarize(events: Iterable[Event], persuasion: PersuasionFigures | None = None,
              miss_reasons: Mapping[int, str] | None = None) -> Summary:
    """Counts, review precision, response-time percentiles and target attainment by zone kind.

    Figures are computed from stage times (not read from frozen columns) so events still in
    progress count too; an operator-rejected event counts as reviewed but not confirmed.
    ``persuasion`` (``api.evaluation.persuasion_figures.load_figures`` over the same events) fills the
    remote-persuasion figures; without it they stay zero. ``miss_reasons``
    (``api.lifecycle.misses.miss_reasons`` over the same events) says why each late arrival was
    late; a late event it does not name counts as ``unknown``.
    """
    events = list(events)
    by_state = Counter(e.state for e in events)
    by_type = Counter(e.type for e in events)
    dispositions = Counter(e.disposition for e in events if e.disposition)
    confirmed = sum(1 for e in events if e.reviewed_at and e.reject_reason is None
                    and e.state != State.REJECTED)
    rejected_by_operator = sum(1 for e in events if e.reviewed_at and e.alerted_at and
                               (e.state == State.REJECTED or e.reject_reason))
    reviewed = confirmed + rejected_by_operator
    responses, resolves = [], []
    kind_hits: dict[str, list[bool]] = defaultdict(list)
    misses = dict.fromkeys((*MISS_REASONS, UNKNOWN), 0)
    for e in events:
        response_s, within, resolve_s = response_figures(e)
        if response_s is not None:
            responses.append(response_s)
        if resolve_s is not None:
            resolves.append(resolve_s)
        if within is not None and e.on_scene_at is not None:
            kind_hits[e.zone_kind or "none"].append(within)
            if not within:
                misses[(miss_reasons or {}).get(e.id, UNKNOWN)] += 1
    reached = len(responses)
    within_total = sum(sum(v) for v in kind_hits.values())
    return Summary(
        events=len(events),
        by_state=dict(by_state),
        by_type=dict(by_type),
        reviewed=reviewed,
        confirmed=confirmed,
        review_precision=confirmed / reviewed if reviewed else None,
        reached=reached,
        within_target=within_total,
        within_target_share=within_total / reached if reached else None,
        response_time_p50_s=percentile(responses, 0.5),
        response_time_p90_s=percentile(responses, 0.9),
        time_to_resolve_p50_s=percentile(resolves, 0.5),
        within_target_share_by_zone_kind={k: sum(v) / len(v) for k, v in sorted(kind_hits.items())},
        dispositions=dict(dispositions),
        sightings_per_event=(sum(e.candidates or 1 for e in events) / len(events)
                             if events else None),
        merged_sightings=sum((e.candidates or 1) - 1 for e in events),
        misses_by_reason=misses,
        **({} if persuasion is None else {
            "persuadable": persuasion.persuadable,
            "resolved_without_team": persuasion.resolved_without_team,
            "without_team_share": persuasion.without_team_share,
            "team_hours_saved": persuasion.team_s_saved / 3600.0}),
    )
