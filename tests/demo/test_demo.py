"""A short demo scenario end to end: real fleet over TCP, real service over HTTP, real model.

Asserts what holds by construction (issue 8): every covered violation is detected or missed,
every confirmed event is closed, response time = on scene − alerted, the report has its plots;
and (issue 9) a stall persuaded away by the drone alone, a stubborn one a team handled, the
repeat offence flagged, a task's public code page opened, the week of department requests.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlmodel import Session, select

from api.core.models import Event
from api.demo import BadScenario, Demo, DemoConfig

# alone, after the rest (make test): its world flies at 12x wall time, and a heavy test on the
# other xdist worker starved it into failing on a slower machine
pytestmark = [pytest.mark.slow, pytest.mark.serial]


def persuasion_config(data_dir: Path) -> DemoConfig:
    """The scenario of this module (and of tests/bench/bench_watch_pacing.py)."""
    # Five drones (one patrols the commercial street, four stand by), four mission minutes at
    # 12x; every violation is also phoned in, so the loop closes even where the model misses.
    # The four calls come within 25 s of each other and the patrol drone takes what its camera
    # confirms, so five events want a drone at once: with four, which call went without one hung
    # on the operator's review order, which shifts with the machine's load (a loaded CI run left
    # the second stall without a drone, hence unwarned). This test is about the loop, not about
    # a short fleet: every event gets a drone.
    # Seed 7 places two street stalls there (objects 51495 and 51512); its vendors' draws are
    # 0.0008 and 0.26, so with comply_share 0.2 the first leaves after the drone's warning and
    # the second stays. The first is also the repeat offender. The operator is always right
    # here, so the stall's return is confirmed (operator errors are not this test's subject).
    # The complying vendor leaves 60-90 mission s after the warning and the drone watches 240 s
    # (the demo's defaults are 15-45 s and 120 s): at 12x the camera thread must see the stall
    # once before it goes and three times after, and on a CI machine with both cores busy one
    # look can take 2-3 wall s (24-36 mission s). With the defaults this vendor leaves 26 s after
    # the warning, and one CI run closed its event "not_found" by a team: the likeliest reading
    # is a first look that came after the vendor had gone, a watch that never saw the stall
    # (so ended stubborn) and a team that found nothing. A failure now prints the audit trail.
    # Another, with these settings, had one scene check in the 240 s watch: mission time now
    # runs at 1x whenever a watch's check is late (api.demo.pacer), so the outcome no longer
    # hangs on the machine's load; the trail printed with a failure lists the scene checks.
    return DemoConfig(seed=7, drones=5, patrols=1, duration_min=4, speedup=12,
                      zones=("com-gushan",), incidents=5, hotline_share=1.0, reaction_s=10,
                      wind_down_min=20, comply_share=0.2, leave_delay_s=(60.0, 90.0),
                      watch_s=240.0, operator_accuracy=1.0, data_dir=data_dir)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    demo = Demo(persuasion_config(tmp_path_factory.mktemp("demo") / "run"))
    try:
        result = demo.run()
        with Session(demo.app.state.engine) as session:
            events = list(session.exec(select(Event)).all())
            for e in events:
                session.expunge(e)
        yield demo, result, events
    finally:
        demo.close()


def test_every_covered_violation_is_detected_or_missed(run):
    demo, result, _ = run
    card = result.scorecard
    seen = {i.object_id for i in demo.scenario.incidents
            if i.object_id in demo._cameras.stats.first_seen_s}
    assert set(card.detected_ids) | set(card.missed_ids) == seen
    assert not set(card.detected_ids) & set(card.missed_ids)
    assert card.detected + card.missed == card.covered == len(seen)
    assert card.placed == 5
    assert card.frames > 0


def test_every_confirmed_event_reaches_a_terminal_state(run):
    _, result, events = run
    confirmed = [e for e in events if e.reviewed_at and e.state != "rejected"
                 and e.reject_reason is None]
    assert confirmed, "the hotline reports must give the operator something to confirm"
    hanging = [e for e in confirmed if e.state not in ("resolved", "evaluated")]
    assert not hanging, _story(run[0], hanging)
    assert result.scorecard.confirmed_closed == len(confirmed)
    assert result.scorecard.open_events == 0


def test_response_time_is_on_scene_minus_alerted(run):
    _, _, events = run
    reached = [e for e in events if e.on_scene_at is not None]
    assert reached
    for e in reached:
        assert e.response_time_s == pytest.approx(
            (e.on_scene_at - e.alerted_at).total_seconds(), abs=1e-6)
        assert e.within_target == (e.response_time_s <= e.target_s)


def test_report_exists_with_its_plots(run):
    _, result, _ = run
    page = result.report_path.read_text(encoding="utf-8")
    assert result.report_path.parent == run[0].run_dir
    for heading in ("Scorecard against ground truth", "Detection recall and precision",
                    "Georeference error", "Alert latency", "Response"):
        assert f"<h2>{heading}</h2>" in page
    # at least: response times, within target by kind, detection vs truth
    assert len(re.findall(r"src='data:image/png;base64,", page)) >= 3


def test_mission_time_runs_at_the_speedup(run):
    demo, result, _ = run
    # 4 mission minutes at 12x take 20 wall seconds; allow for a loaded machine's lag, and for
    # the wall seconds the clock ran at 1x because a watch's scene check was late (api.demo.pacer)
    held = result.timings.watch_held_s
    assert 240 / 12 <= result.timings.mission_s <= 240 / 12 * 1.5 + held
    assert demo.scenario.now_s() >= 240
    # CPU spent during the mission, by part: every part ran, and no more than the wall time
    # on every core of this machine allows
    cpu = result.timings.cpu_s
    assert {"fleet simulation", "service and dispatch", "camera thread"} <= set(cpu)
    assert all(v >= 0 for v in cpu.values())
    assert sum(cpu.values()) <= result.timings.mission_s * os.cpu_count() + 1.0


@pytest.mark.parametrize(("field", "value", "words"), [
    ("drones", 0, "--drones"),
    ("duration_min", 0.0, "--duration"),
    ("speedup", 0.0, "--speedup"),
    ("operator_accuracy", 1.5, "--operator-accuracy"),
    ("overlap", 1.0, "overlap"),
])
def test_bad_options_say_which_to_change(field, value, words):
    with pytest.raises(BadScenario, match=re.escape(words)):
        DemoConfig(**{field: value}).check()


def test_vendors_hear_warnings_and_the_repeat_offender_comes_back():
    from api.demo.scenario import HEAR_RADIUS_M, Scenario

    # the demo test's scenario: stalls 51495 (the first placed: the repeat offender) and 51512
    # (which would leave by itself at 355 s), both there from the start
    sc = Scenario(seed=7, duration_s=240, zone_ids=["com-gushan"], incidents=5,
                  comply_share=1.0, leave_delay_s=(15.0, 45.0), repeat_after_s=90.0)
    first = next(i for i in sc.incidents if i.object_id == 51495)
    assert sc.repeat_id == 51495
    # 60 m east of the stall: out of earshot
    far_lat, far_lon = sc.town.frame.to_wgs84(first.east_m + HEAR_RADIUS_M + 10, first.north_m)
    assert [i.object_id for i, _ in sc.hear(far_lat, far_lon, 10.0)] == []
    heard = sc.hear(first.lat, first.lon, 10.0)
    assert (first.object_id, True) in [(i.object_id, c) for i, c in heard]
    assert sc.is_active(51495, 10.0 + 14.9)  # packs up 15-45 s later
    assert not sc.is_active(51495, 10.0 + 45.0)
    left = next(t for t in range(25, 56) if not sc.is_active(51495, float(t)))
    # gone, but not back while its case is still open in the service (the same occurrence)
    assert sc.awaits_closure() is first and sc.repeat_pending(left + 1.0)
    assert sc.back_at_s(51495) is None and not sc.is_active(51495, left + 500.0)
    # a case closed before the vendor had gone counts from the going (left: the first whole
    # second without the stall, so the vendor went within the second before it)
    sc.case_closed(51495, 20.0)
    assert sc.awaits_closure() is None and left - 1.0 < sc.back_at_s(51495) - 90.0 <= left
    # back 90 s after it left, called in 20 s later, once
    assert not sc.is_active(51495, left + 89.0) and sc.is_active(51495, left + 90.0)
    assert sc.repeat_pending(left + 100.0)
    assert sc.repeat_calls_due(left + 109.0) == []
    assert [i.object_id for i in sc.repeat_calls_due(left + 111.0)] == [51495]
    assert sc.repeat_calls_due(left + 120.0) == [] and not sc.repeat_pending(left + 120.0)
    sc.remove(51495, left + 200.0)  # a team deals with it again: gone for good
    assert sc.is_active(51495, left + 199.0) and not sc.is_active(51495, left + 200.0)

    # a slow watch: the case closes 30 s after the vendor left, so it is back 90 s after that
    slow = Scenario(seed=7, duration_s=240, zone_ids=["com-gushan"], incidents=5,
                    comply_share=1.0, leave_delay_s=(15.0, 45.0), repeat_after_s=90.0)
    slow.hear(first.lat, first.lon, 10.0)
    slow.case_closed(51495, left + 30.0)
    assert slow.back_at_s(51495) == left + 30.0 + 90.0
    assert not slow.is_active(51495, left + 119.0) and slow.is_active(51495, left + 120.0)

    stubborn = Scenario(seed=7, duration_s=240, zone_ids=["com-gushan"], incidents=5,
                        comply_share=0.0)
    other = next(i for i in stubborn.incidents if i.object_id == 51512)
    assert [(i.object_id, c) for i, c in stubborn.hear(other.lat, other.lon, 5.0)
            if i.object_id == 51512] == [(51512, False)]
    # it digs in: there until a team comes, even past the end of its own window
    assert other.vanish_s < 400.0 and stubborn.is_active(51512, 400.0)
    stubborn.remove(51512, 500.0)
    assert not stubborn.is_active(51512, 500.0)


def test_scenario_windows_and_removal():
    from api.demo.scenario import Scenario

    sc = Scenario(seed=7, duration_s=600, zone_ids=["com-gushan"], incidents=4,
                  present_share=1.0)
    inc = sc.incidents[0]
    assert inc.appear_s == 0.0
    assert sc.is_active(inc.object_id, 1.0)
    assert sc.active_near(inc.lat, inc.lon, 1.0, radius_m=1.0) == inc
    sc.remove(inc.object_id, 5.0)
    assert sc.is_active(inc.object_id, 4.9) and not sc.is_active(inc.object_id, 5.0)
    assert sc.ended_s(inc) == 5.0  # it would have stayed at least 0.6 x 600 s
    # a violation never placed is never drawn
    unplaced = next(o for o in sc.world.objects if o.label and o.object_id not in
                    {i.object_id for i in sc.incidents})
    assert not sc.is_active(unplaced.object_id, 1.0)


def test_data_dir_of_someone_else_is_never_emptied(tmp_path):
    from api.demo.orchestrator import fresh_data_dir

    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious")
    with pytest.raises(BadScenario, match="--data-dir"):
        fresh_data_dir(mine)
    assert (mine / "thesis.txt").read_text() == "precious"
    earlier = fresh_data_dir(tmp_path / "demo")
    (earlier / "flyonce.db").write_text("old run")
    again = fresh_data_dir(tmp_path / "demo")
    assert not (again / "flyonce.db").exists() and (again / ".flyonce-demo").exists()


def _story(demo, events) -> str:
    """The audit trail of ``events``, for a failure message: what happened, in mission order."""
    from api.core.models import AuditEntry, SceneCheck

    lines = []
    with Session(demo.app.state.engine) as session:
        for e in sorted(events, key=lambda e: e.id):
            lines.append(f"event {e.id} {e.type} {e.source_event_id} ({e.state}):")
            lines += [f"  {a.at.time()} {a.actor}: {a.from_state} -> {a.to_state} {a.reason}"
                      for a in session.exec(select(AuditEntry).where(AuditEntry.event_id == e.id)
                                            .order_by(AuditEntry.id))]
            lines += [f"  {c.at.time()} scene check by {c.drone_id}: "
                      f"{'present' if c.present else 'gone'} {c.confidence}"
                      for c in session.exec(select(SceneCheck).where(SceneCheck.event_id == e.id)
                                            .order_by(SceneCheck.id))]
    stats = demo._cameras.stats
    lines.append(f"camera: {stats.frames} patrol frames ({stats.render_s:.1f} wall s rendering, "
                 f"{stats.detect_s:.1f} s detecting), {stats.scene_checks} scene checks "
                 f"({stats.scene_s:.1f} wall s)")
    return "\n".join(lines)


def _persuasion_rows(demo):
    from api.core.models import Persuasion, Task

    with Session(demo.app.state.engine) as session:
        plays = list(session.exec(select(Persuasion).order_by(Persuasion.id)).all())
        tasks = list(session.exec(select(Task).order_by(Task.id)).all())
        for row in (*plays, *tasks):
            session.expunge(row)
    return plays, tasks


def _at(demo, events, object_id):
    """The confirmed events within 20 m of one placed violation, oldest first."""
    import math

    inc = next(i for i in demo.scenario.incidents if i.object_id == object_id)
    frame = demo.scenario.town.frame
    return sorted((e for e in events if e.reviewed_at and e.reject_reason is None and math.dist(
        frame.to_local(e.lat, e.lon), (inc.east_m, inc.north_m)) <= 20.0), key=lambda e: e.id)


def test_the_complying_vendor_is_persuaded_away_without_a_team(run):
    demo, result, events = run
    plays, tasks = _persuasion_rows(demo)
    assert demo.scenario.complies[51495] and not demo.scenario.complies[51512]
    first = next(e for e in _at(demo, events, 51495) if any(p.event_id == e.id for p in plays))
    assert first.disposition == "persuaded", _story(demo, [first])
    assert [t.kind for t in tasks if t.event_id == first.id] == ["drone"]  # never a team
    play = next(p for p in plays if p.event_id == first.id)
    assert play.outcome == "persuaded" and play.requested_by == "system:persuasion"
    # what the service says it played is what the copter's speaker logged, over the stall
    vehicle = demo._fleet.vehicles[demo.drone_ids.index(play.drone_id)]
    logged = [p for p in vehicle.played if abs((p.at - play.played_at).total_seconds()) < 1.0]
    assert [(p.kind, p.clip_id, p.repeat) for p in logged] == [("clip", 1, 2)]
    # and the vendor had really heard it and gone when the event was resolved
    assert 51495 in demo.scenario.heard_at
    resolved_s = (first.resolved_at - demo.t0).total_seconds()
    assert not demo.scenario.is_active(51495, resolved_s)
    assert result.scorecard.persuaded_alone >= 1
    assert result.scorecard.persuaded_really_left == result.scorecard.persuaded_alone


def test_the_stubborn_vendor_gets_a_team_once_the_watch_ends(run):
    demo, result, events = run
    plays, tasks = _persuasion_rows(demo)
    # the stall may have been reported twice (camera and phone): the warned event is the one
    warned = [e for e in _at(demo, events, 51512) if any(p.event_id == e.id for p in plays)]
    assert warned, "no drone ever warned the second stall:\n" + _story(demo, events)
    event = warned[0]
    play = next(p for p in plays if p.event_id == event.id)
    assert play.outcome == "stubborn" and "still there at the deadline" in play.note, \
        _story(demo, [event])
    team = [t for t in tasks if t.event_id == event.id and t.kind == "team"]
    assert len(team) == 1 and team[0].created_by == "system:persuasion", _story(demo, warned)
    assert team[0].created_at >= play.watch_until  # only once the 240 s watch ran out
    assert event.state in ("resolved", "evaluated") and event.disposition != "not_found", \
        _story(demo, [event])
    assert result.scorecard.stubborn_by_team >= 1


def test_the_returning_stall_is_flagged_as_a_repeat_offence(run):
    demo, result, events = run
    there = _at(demo, events, 51495)
    # dealt with, back 90 s later, phoned in again (the camera may have reported it too)
    again = next(e for e in there if e.source_event_id == "call-51495-again")
    assert there[0].offence == "first" and again.offence == "repeat"
    assert result.scorecard.repeat_flagged
    assert result.scorecard.repeat_line.startswith("yes: event #")


def test_scorecard_opens_a_code_and_plans_the_week(run):
    _, result, _ = run
    card = result.scorecard
    assert card.code_line.startswith(f"{result.base_url}/c/")
    merged, alone = (int(n) for n in re.findall(r"(\d+) (?:merged )?flights,", card.patrol_week_line))
    assert 0 < merged < alone
    page = result.report_path.read_text(encoding="utf-8")
    assert "<h2>Remote persuasion</h2>" in page
