"""Why a drone arrived late: the judgement (api.fleet.misses), its audit row and the summary."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlmodel import Session

from api.core.models import Event
from api.evaluation.metrics import summarize
from api.fleet.misses import Seen, judge
from api.lifecycle.misses import MISS_REASONS, miss_audit, miss_reasons
from dispatch.misses import Chance
from tests.api.conftest import START

TARGET_S = 180.0


@pytest.mark.parametrize(("bound_s", "seen", "sent", "expected"), [
    # even an idle, charged drone at the best dock is late
    (200.0, Seen(0.0, (Chance("a", 0.0, 200.0, True),)), None, "unreachable"),
    # 100 s of review: the best possible 90 s flight ends at 190 s
    (90.0, Seen(100.0, (Chance("a", 100.0, 90.0, True),)), ("a", 90.0, 100.0), "review"),
    # sent at 10 s with a 150 s plan (in time) yet late: the flight, not the choice
    (90.0, Seen(5.0, (Chance("a", 5.0, 150.0, True),)), ("a", 150.0, 10.0), "flight"),
    # b was idle, charged and in time; a (planned late) was sent
    (90.0, Seen(5.0, (Chance("a", 5.0, 200.0, True), Chance("b", 5.0, 90.0, True))),
     ("a", 200.0, 5.0), "planner"),
    # b could have made it but lacked the charge
    (90.0, Seen(5.0, (Chance("a", 5.0, 200.0, True), Chance("b", 5.0, 90.0, False))),
     ("a", 200.0, 5.0), "battery"),
    # the close drone was out on another event
    (90.0, Seen(5.0, (Chance("a", 5.0, 200.0, True), Chance("b", math.inf, math.inf, False))),
     ("a", 200.0, 5.0), "all_busy"),
])
def test_judge(bound_s: float, seen: Seen, sent, expected: str) -> None:
    reason, detail = judge(target_s=TARGET_S, response_s=230.0, bound_s=bound_s, seen=seen,
                           sent=sent)
    assert reason == expected
    assert detail


def test_without_a_note_only_the_bound_and_the_plan_can_tell() -> None:
    assert judge(target_s=TARGET_S, response_s=230.0, bound_s=90.0, seen=None,
                 sent=("a", 200.0, 5.0)) is None
    assert judge(target_s=TARGET_S, response_s=400.0, bound_s=math.inf, seen=None,
                 sent=None)[0] == "unreachable"


def _event(session: Session, response_s: float) -> Event:
    alerted = START + timedelta(minutes=1)
    event = Event(type="street_stall", state="on_scene", lat=29.5, lon=120.9, confidence=0.9,
                  source="t", source_event_id=f"e{response_s}", zone_kind="residential",
                  target_s=TARGET_S, detected_at=START, alerted_at=alerted,
                  reviewed_at=alerted, assigned_at=alerted,
                  on_scene_at=alerted + timedelta(seconds=response_s))
    session.add(event)
    session.flush()
    return event


def test_the_summary_counts_late_arrivals_by_their_recorded_reason(client) -> None:
    engine = client.app.state.engine
    with Session(engine, expire_on_commit=False) as session:
        in_time = _event(session, 100.0)
        by_planner = _event(session, 200.0)
        by_battery = _event(session, 210.0)
        untold = _event(session, 220.0)
        for event, reason in [(by_planner, "planner"), (by_battery, "battery")]:
            session.add(miss_audit(event, reason=reason, detail="test", actor="dispatch",
                                   at=event.on_scene_at))
        session.commit()
        events = [in_time, by_planner, by_battery, untold]
        reasons = miss_reasons(session, [e.id for e in events])
    assert reasons == {by_planner.id: "planner", by_battery.id: "battery"}
    summary = summarize(events, None, reasons)
    assert summary.misses_by_reason == {**dict.fromkeys(MISS_REASONS, 0), "planner": 1,
                                        "battery": 1, "unknown": 1}


def test_an_unknown_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown miss reason"):
        miss_audit(Event(id=1, state="on_scene"), reason="bad luck", detail="", actor="x",
                   at=START)
