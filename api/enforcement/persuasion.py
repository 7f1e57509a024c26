"""Remote persuasion (远程劝导): the drone on scene warns through its loudspeaker, then watches.

Rules (``FLYONCE_PERSUASION_RULES``, a JSON list of ``settings.PersuasionRule``; none by default)
say which events the speaker tries first: an event type, the zone kinds it applies in (all but
``except_zone_kinds``), a recorded clip number or a text (Chinese, at most 200 characters, spoken
by the drone), how often it repeats, how long the drone then watches (``watch_s``, mission
seconds) and how many consecutive "gone" scene checks resolve it (``gone_checks``). The first rule
that matches an event's type and zone kind wins. The demo runs with
``{"event_type": "street_stall", "except_zone_kinds": ["forest"], "clip_id": 1}``.

The flow for an event a rule covers (the verbs are here; ``api.fleet.persuader.Persuader`` drives
the speaker and the dispatch worker calls it):

1. assignment: the drone is tasked; the ground team is NOT (the audit row says it was held back);
2. on scene: the rule's warning plays (``Persuader.play``, actor ``system:persuasion``), or an
   operator plays one with ``POST /events/{id}/persuade`` (any on-scene event, rule or not; with
   no rule the defaults of ``PersuasionRule`` apply: 120 s watch, 3 checks). Each play is one
   ``Persuasion`` row and two audit rows: "requested" and "played … (ACK ACCEPTED)" or "refused";
3. the drone keeps watching: a detection worker posts ``SceneCheck``s (``POST
   /events/{id}/scene-checks``: is the violation still in view?). When ``gone_checks``
   consecutive checks taken after the play and no later than ``watch_until`` say "gone", the
   event goes on_scene → resolved, disposition ``persuaded``, actor ``system:persuasion``, no
   ground team, and is evaluated as usual (outcome ``persuaded``). The run counts only after
   the camera has *seen* the violation on scene (a "present" check since the drone arrived):
   a stall the detector never picks out would otherwise look "gone" from the first frame, and
   a vendor still at work would be recorded as persuaded;
4. the deadline: the dispatch worker's loop (the one injected mission clock) decides every
   pending play whose ``watch_until`` has passed ``stubborn`` — the violation was still seen,
   the camera never saw it at all, or no check arrived (the audit row says which) — and tasks
   the nearest available team (a ``Task``, with the usual live message to that team);
5. a loudspeaker refusal (``CommandRejected``, the MAV_RESULT code stored) or a lost link is
   outcome ``failed``: the nearest team is tasked at once. When no team is free, the audit trail
   says so and the worker tries again each tick until one is.

One play is watched at a time per event: another play while one is pending is refused (409).

Figures (``api.evaluation.persuasion_figures``): an event is *persuadable* when at least one play on it was
decided (persuaded, stubborn or failed); it was *resolved without a ground team* when it ended
with disposition ``persuaded`` and never had a team task. Ground-team time saved: each event
resolved without a team saves the median team time — from the team's tasking to the event's
resolution — of the events of the same type in the same set that a team resolved; where a type
has no such event, the median over all types; where there is none at all, nothing is counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from api.core.errors import Conflict, NotFound
from api.core.models import AuditEntry, Event, GroundTeam, Persuasion, SceneCheck, Task
from api.core.settings import PersuasionRule
from api.enforcement.schemas import (
    PersuasionPublic,
    SceneCheckIn,
    SceneCheckPublic,
    SceneCheckResult,
)
from api.lifecycle import events as verbs
from api.lifecycle.states import OPEN_STATES, State
from dispatch.teams import TeamStatus, ranked_teams

ACTOR = "system:persuasion"
MAV_RESULT = {"ACCEPTED": 0, "TEMPORARILY_REJECTED": 1, "DENIED": 2, "UNSUPPORTED": 3,
              "FAILED": 4, "IN_PROGRESS": 5, "CANCELLED": 6}
DEFAULT_WATCH = PersuasionRule(event_type="*", clip_id=1)  # watch_s and gone_checks of ad-hoc plays


# ---------------------------------------------------------------- rules


def rule_for(rules: Sequence[PersuasionRule], event_type: str,
             zone_kind: str | None) -> PersuasionRule | None:
    """The first rule covering an event of ``event_type`` in a zone of ``zone_kind``."""
    kind = zone_kind or "none"
    for rule in rules:
        if rule.event_type != event_type or kind in rule.except_zone_kinds:
            continue
        if rule.zone_kinds is None or kind in rule.zone_kinds:
            return rule
    return None


def seen_from(arrived_at: datetime | None, played_at: datetime) -> datetime:
    """From when a "present" check counts as the camera having seen the violation on scene:
    the drone's arrival (``played_at`` when it is not known)."""
    return played_at if arrived_at is None else min(arrived_at, played_at)


def gone_run(checks: Iterable[SceneCheck], *, played_at: datetime, watch_until: datetime,
             needed: int, seen_since: datetime | None = None) -> SceneCheck | None:
    """The check that completes the first run of ``needed`` consecutive "gone" checks taken
    in [played_at, watch_until], in time order, after a "present" check taken no earlier than
    ``seen_since`` (the drone's arrival; ``played_at`` when None); None while there is no such
    run. Gone checks before the first sighting prove nothing and are skipped."""
    since = seen_from(seen_since, played_at)
    run, seen = 0, False
    for check in sorted(checks, key=lambda c: (c.at, c.id or 0)):
        if check.at < since or check.at > watch_until:
            continue
        if check.present:
            run, seen = 0, True
            continue
        if not seen or check.at < played_at:
            continue
        run += 1
        if run >= needed:
            return check
    return None


def result_code(value: object) -> int | None:
    """A MAV_RESULT as its number, from a number or a name."""
    if isinstance(value, int):
        return value
    return MAV_RESULT.get(str(value))


# ---------------------------------------------------------------- the verbs
# Each takes the caller's session and commits nothing: the caller holds ``writing(session)``
# around a verb that writes, commits, then publishes the alerts a verb returns.


def rule_of(rules: Sequence[PersuasionRule], event: Event) -> PersuasionRule | None:
    """The rule that covers ``event``, if any."""
    return rule_for(rules, event.type, event.zone_kind)


def watch_rule(rules: Sequence[PersuasionRule], event: Event) -> PersuasionRule:
    """How long and how strictly a play on ``event`` is watched: its rule's, or the defaults."""
    return rule_of(rules, event) or DEFAULT_WATCH


def describe(p: Persuasion) -> str:
    """What a play said, for the audit trail."""
    return (f"clip {p.clip_id}" if p.kind == "clip" else f"text “{p.text}”") + f" x{p.repeat}"


def _audit(session: Session, event: Event, at: datetime, reason: str, actor: str = ACTOR) -> None:
    # Not a transition: the state stays, the row says what the speaker or the watch did.
    session.add(AuditEntry(event_id=event.id, at=at, actor=actor, from_state=event.state,
                           to_state=event.state, reason=reason))


def _locked(session: Session, event_id: int) -> Event:
    event = session.exec(select(Event).where(Event.id == event_id).with_for_update()).first()
    if event is None:
        raise NotFound(f"no event with id {event_id}; list events with GET /api/v1/events")
    return event


def has_team(session: Session, event_id: int) -> bool:
    """Whether a ground team is (still) tasked with ``event_id``."""
    return session.exec(select(Task.id).where(Task.event_id == event_id, Task.kind == "team",
                                              Task.state != "cancelled")).first() is not None


def due_rule(session: Session, event_id: int,
             rules: Sequence[PersuasionRule]) -> PersuasionRule | None:
    """The event's rule when it is on scene with no play yet and no team on it."""
    event = session.get(Event, event_id)
    if event is None or event.state != State.ON_SCENE:
        return None
    rule = rule_of(rules, event)
    if rule is None:
        return None
    played = session.exec(select(Persuasion.id).where(Persuasion.event_id == event_id)).first()
    return rule if played is None and not has_team(session, event_id) else None


def playable(session: Session, event_id: int) -> Event:
    """The event, locked, if a warning may play on it now; NotFound or Conflict saying why not."""
    event = _locked(session, event_id)
    if event.state != State.ON_SCENE:
        raise Conflict(f"event {event_id} is '{event.state}'; a warning plays only while "
                       "the drone is over the scene (state on_scene)")
    pending = session.exec(select(Persuasion).where(
        Persuasion.event_id == event_id, Persuasion.outcome == "pending")).first()
    if pending is not None:
        until = pending.watch_until.isoformat() if pending.watch_until else "its ACK"
        raise Conflict(f"event {event_id} already has warning {pending.id} pending "
                       f"(watched until {until}); wait for its outcome")
    return event


def request_play(session: Session, event_id: int, *, clip_id: int | None, text: str | None,
                 repeat: int, actor: str, now: datetime) -> Persuasion:
    """A new pending play on ``event_id`` (checked with ``playable``) and its audit row."""
    event = playable(session, event_id)
    row = Persuasion(event_id=event_id, kind="clip" if clip_id is not None else "text",
                     clip_id=clip_id, text=text, repeat=repeat, requested_by=actor,
                     requested_at=now)
    session.add(row)
    _audit(session, event, now, f"persuasion requested: {describe(row)}", actor=actor)
    session.flush()
    return row


def record_played(session: Session, row_id: int, *, drone_id: str, accepted_at: datetime,
                  result: object, rules: Sequence[PersuasionRule]) -> Persuasion:
    """The speaker accepted play ``row_id``: the watch starts now."""
    row = session.get(Persuasion, row_id)
    event = _locked(session, row.event_id)
    rule = watch_rule(rules, event)
    row.drone_id, row.played_at = drone_id, accepted_at
    row.result = result_code(result)
    row.watch_until = accepted_at + timedelta(seconds=rule.watch_s)
    session.add(row)
    _audit(session, event, accepted_at,
           f"played {describe(row)} through drone {drone_id}'s speaker (ACK ACCEPTED); "
           f"watching until {row.watch_until.isoformat()} for {rule.gone_checks} "
           "consecutive checks without it")
    return row


def record_failed(session: Session, row_id: int, *, code: int | None, why: str,
                  now: datetime) -> tuple[str | None, list[dict[str, Any]]]:
    """Play ``row_id`` failed: record it and task the nearest team (the team, the alerts)."""
    row = session.get(Persuasion, row_id)
    event = _locked(session, row.event_id)
    row.outcome, row.decided_at, row.result, row.note = "failed", now, code, why
    session.add(row)
    _audit(session, event, now, f"persuasion failed: {why}")
    return task_nearest_team(session, event, now, "the warning could not be played")


def scene_check(session: Session, event_id: int, body: SceneCheckIn, *,
                rules: Sequence[PersuasionRule], auto_evaluate: bool, source: str,
                now: datetime) -> tuple[SceneCheckResult, list[dict[str, Any]]]:
    """Store one scene check; resolve the event as persuaded when it completes the run."""
    event = _locked(session, event_id)
    if event.state not in OPEN_STATES:
        # Open or not is all the reporter needs (to stop watching); detectors, who are told
        # nothing of an event (api/routes/access.py), are not told its state here either.
        raise Conflict(f"event {event_id} is not open; scene checks are taken only while an "
                       "event is open (confirmed, assigned or on scene)")
    check = SceneCheck(event_id=event_id, at=body.at or now, present=body.present,
                       confidence=body.confidence, drone_id=body.drone_id, source=source)
    session.add(check)
    session.flush()
    alerts: list[dict[str, Any]] = []
    row = session.exec(select(Persuasion).where(
        Persuasion.event_id == event_id, Persuasion.outcome == "pending",
        Persuasion.played_at.is_not(None))).first()
    if row is not None and event.state == State.ON_SCENE:
        needed = watch_rule(rules, event).gone_checks
        checks = session.exec(select(SceneCheck).where(SceneCheck.event_id == event_id)).all()
        last = gone_run(checks, played_at=row.played_at, watch_until=row.watch_until,
                        needed=needed, seen_since=event.on_scene_at)
        if last is not None:
            alerts = _persuaded(session, event, row, needed, now, auto_evaluate=auto_evaluate)
    result = SceneCheckResult(
        check=SceneCheckPublic.model_validate(check), event_state=event.state,
        persuasion=PersuasionPublic.model_validate(row) if row is not None else None)
    return result, alerts


def _persuaded(session: Session, event: Event, row: Persuasion, needed: int, now: datetime, *,
               auto_evaluate: bool) -> list[dict[str, Any]]:
    row.outcome, row.decided_at = "persuaded", now
    row.note = f"{needed} consecutive scene checks without the {event.type}"
    session.add(row)
    _audit(session, event, now, f"persuaded: {row.note} after {describe(row)}; no ground team")
    outcome = verbs.resolve(session, event.id, disposition="persuaded",
                            note=f"left after the drone's warning ({describe(row)})",
                            actor=ACTOR, now=now, team_id=None, auto_evaluate=auto_evaluate)
    return outcome.alerts


def past_deadline(session: Session, now: datetime) -> tuple[list[int], list[int]]:
    """Pending plays whose watch has ended, and on-scene events whose play ended stubborn or
    failed with no team on them yet (a read; the caller ends it before deciding each)."""
    due = session.exec(select(Persuasion.id).where(
        Persuasion.outcome == "pending", Persuasion.watch_until.is_not(None),
        Persuasion.watch_until <= now)).all()
    team = select(Task.id).where(Task.event_id == Persuasion.event_id,
                                 Task.kind == "team", Task.state != "cancelled")
    waiting = session.exec(select(Persuasion.event_id).join(
        Event, Event.id == Persuasion.event_id).where(
        Persuasion.outcome.in_(("stubborn", "failed")),
        Event.state == State.ON_SCENE, ~team.exists())).all()
    return list(due), sorted(set(waiting))


def decide_stubborn(session: Session, row_id: int, now: datetime) -> list[dict[str, Any]]:
    """Play ``row_id``'s watch ended without a run of gone checks: stubborn, and a team tasked."""
    row = session.get(Persuasion, row_id)
    event = _locked(session, row.event_id)
    session.refresh(row)
    if row.outcome != "pending":
        return []  # a scene check decided it meanwhile
    all_checks = session.exec(select(SceneCheck).where(
        SceneCheck.event_id == row.event_id)).all()
    checks = [c for c in all_checks if row.played_at <= c.at <= row.watch_until]
    since = seen_from(event.on_scene_at, row.played_at)
    if not checks:
        why = "no scene checks arrived while the drone watched, so nobody saw it leave"
    elif not any(c.present and since <= c.at <= row.watch_until for c in all_checks):
        why = (f"the camera never saw the {event.type.replace('_', ' ')} on scene "
               f"({len(checks)} scene checks, none with it), so its absence proves nothing: "
               "the detector may be missing it")
    else:
        last = max(checks, key=lambda c: (c.at, c.id))
        seen = sum(c.present for c in checks)
        why = (f"still there at the deadline: {seen} of {len(checks)} scene checks saw it, "
               f"the last at {last.at.isoformat()} {'saw it' if last.present else 'did not'}")
    row.outcome, row.decided_at, row.note = "stubborn", now, why
    session.add(row)
    _audit(session, event, now, f"stubborn after {describe(row)}: {why}")
    if event.state != State.ON_SCENE:
        return []
    _, alerts = task_nearest_team(session, event, now, "the vendor stayed after the warning")
    return alerts


def task_team_if_waiting(session: Session, event_id: int, now: datetime) -> list[dict[str, Any]]:
    """Task a team with an on-scene event the warning did not resolve, when one is free now."""
    event = _locked(session, event_id)
    if event.state != State.ON_SCENE or has_team(session, event_id):
        return []
    _, alerts = task_nearest_team(session, event, now, "still unresolved after the warning",
                                  quiet=True)
    return alerts


def task_nearest_team(session: Session, event: Event, now: datetime, why: str, *,
                      quiet: bool = False) -> tuple[str | None, list[dict[str, Any]]]:
    """Task the nearest available team with ``event`` (one audit row either way, unless
    ``quiet`` and none is free); returns the team and the live message for it."""
    if has_team(session, event.id):
        return None, []
    teams = session.exec(select(GroundTeam)).all()
    ranked = ranked_teams([TeamStatus(t.id, t.lat, t.lon, t.status == "available")
                           for t in teams], event.lat, event.lon)
    choice = ranked[0] if ranked and ranked[0].available else None
    if choice is None:
        if not quiet:
            _audit(session, event, now, f"{why}; no ground team is free, trying again")
        return None, []
    team = session.get(GroundTeam, choice.team_id)
    team.status, team.updated_at = "busy", now
    task = Task(event_id=event.id, kind="team", team_id=team.id, created_by=ACTOR,
                created_at=now)
    session.add_all([team, task])
    session.flush()
    reason = f"ground team {team.id} tasked ({choice.distance_m:.0f} m away): {why}"
    _audit(session, event, now, reason)
    return team.id, [{"kind": "task", "team_ids": [team.id], "event_id": event.id,
                      "task_id": task.id, "at": now.isoformat(), "actor": ACTOR,
                      "reason": reason,
                      "event": verbs.event_public(event).model_dump(mode="json")}]


# ---------------------------------------------------------------- reads


def _known(session: Session, event_id: int) -> None:
    if session.get(Event, event_id) is None:
        raise NotFound(f"no event with id {event_id}; list events with GET /api/v1/events")


def plays_of(session: Session, event_id: int) -> list[Persuasion]:
    """The warnings played on ``event_id``, oldest first; NotFound for an unknown event."""
    _known(session, event_id)
    return list(session.exec(select(Persuasion).where(Persuasion.event_id == event_id)
                             .order_by(Persuasion.id)).all())


def scene_checks_of(session: Session, event_id: int) -> list[SceneCheck]:
    """The scene checks of ``event_id`` in time order; NotFound for an unknown event."""
    _known(session, event_id)
    return list(session.exec(select(SceneCheck).where(SceneCheck.event_id == event_id)
                             .order_by(SceneCheck.at, SceneCheck.id)).all())
