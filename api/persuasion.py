"""Remote persuasion (远程劝导): the drone on scene warns through its loudspeaker, then watches.

Rules (``FLYONCE_PERSUASION_RULES``, a JSON list of ``settings.PersuasionRule``; none by default)
say which events the speaker tries first: an event type, the zone kinds it applies in (all but
``except_zone_kinds``), a recorded clip number or a text (Chinese, at most 200 characters, spoken
by the drone), how often it repeats, how long the drone then watches (``watch_s``, mission
seconds) and how many consecutive "gone" scene checks resolve it (``gone_checks``). The first rule
that matches an event's type and zone kind wins. The demo runs with
``{"event_type": "street_stall", "except_zone_kinds": ["forest"], "clip_id": 1}``.

The flow for an event a rule covers (api/dispatcher.py calls in here):

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

Figures (``persuasion_figures``): an event is *persuadable* when at least one play on it was
decided (persuaded, stubborn or failed); it was *resolved without a ground team* when it ended
with disposition ``persuaded`` and never had a team task. Ground-team time saved: each event
resolved without a team saves the median team time — from the team's tasking to the event's
resolution — of the events of the same type in the same set that a team resolved; where a type
has no such event, the median over all types; where there is none at all, nothing is counted.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api import events as verbs
from api.bus import AlertBus
from api.clock import Clock
from api.db import writing
from api.errors import Conflict, NotFound, ServiceError
from api.lifecycle import OPEN_STATES, State
from api.models import AuditEntry, Event, GroundTeam, Persuasion, SceneCheck, Task
from api.settings import PersuasionRule
from dispatch.errors import CommandRejected, DispatchError, DroneUnavailable
from dispatch.speaker import MAX_REPEAT, MAX_TEXT_CHARS
from dispatch.teams import TeamStatus, ranked_teams

log = logging.getLogger("flyonce.api.persuasion")

ACTOR = "system:persuasion"
TEXT_MAX_CHARS = MAX_TEXT_CHARS  # about 50 s of Mandarin speech
REPEAT_MAX = MAX_REPEAT
MAV_RESULT = {"ACCEPTED": 0, "TEMPORARILY_REJECTED": 1, "DENIED": 2, "UNSUPPORTED": 3,
              "FAILED": 4, "IN_PROGRESS": 5, "CANCELLED": 6}
DEFAULT_WATCH = PersuasionRule(event_type="*", clip_id=1)  # watch_s and gone_checks of ad-hoc plays


class SpeakerFailed(ServiceError):
    """502: the drone's speaker refused or never answered; the nearest team was tasked."""

    status_code = 502


# ---------------------------------------------------------------- HTTP shapes


class PersuadeIn(BaseModel):
    """A warning to play: exactly one of a clip number or a text."""

    model_config = ConfigDict(extra="forbid")

    clip_id: int | None = Field(None, ge=1, le=0xFFFF, description="A clip on the speaker's card.")
    text: str | None = Field(None, description=f"Spoken text, 1-{TEXT_MAX_CHARS} characters.")
    repeat: int = Field(1, ge=1, le=REPEAT_MAX)

    @model_validator(mode="after")
    def _one_message(self) -> PersuadeIn:
        if (self.clip_id is None) == (self.text is None):
            raise ValueError("give exactly one of clip_id (a recorded clip, e.g. 1) or text "
                             "(what the drone should say)")
        if self.text is not None:
            self.text = self.text.strip()
            if not self.text:
                raise ValueError("text is empty; write the warning to speak, or give a clip_id")
            if len(self.text) > TEXT_MAX_CHARS:
                raise ValueError(f"text has {len(self.text)} characters; at most {TEXT_MAX_CHARS} "
                                 "(about 50 s of speech) fit one warning, shorten it")
        return self


class PersuasionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    drone_id: str | None
    kind: str
    clip_id: int | None
    text: str | None
    repeat: int
    requested_by: str
    requested_at: datetime
    played_at: datetime | None
    result: int | None
    watch_until: datetime | None
    outcome: str
    decided_at: datetime | None
    note: str | None


class SceneCheckIn(BaseModel):
    """One look at the scene from the drone: is the violation still there?"""

    model_config = ConfigDict(extra="forbid")

    present: bool
    confidence: float | None = Field(None, ge=0, le=1)
    at: AwareDatetime | None = Field(None, description="When the frame was taken; default now.")
    drone_id: str | None = Field(None, max_length=64)


class SceneCheckPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    at: datetime
    present: bool
    confidence: float | None
    drone_id: str | None
    source: str


class SceneCheckResult(BaseModel):
    """The stored check, the event's state after it, and the play it counted for (if any)."""

    check: SceneCheckPublic
    event_state: str
    persuasion: PersuasionPublic | None


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


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class PersuasionFigures:
    persuadable: int
    resolved_without_team: int
    without_team_share: float | None
    team_s_saved: float
    team_s_median_by_type: dict[str, float]
    alone_by_type: dict[str, int]  # resolved by the drone alone (persuaded, no team task)
    team_by_type: dict[str, int]  # resolved with a ground team tasked


def persuasion_figures(events: Iterable[Event], persuasions: Iterable[Persuasion],
                       team_tasks: Iterable[Task]) -> PersuasionFigures:
    """The share of persuadable events resolved without a ground team, and team time saved
    (the model is in the module docstring). ``team_tasks`` are the events' team tasks."""
    events = list(events)
    decided = {p.event_id for p in persuasions if p.outcome != "pending"}
    tasked_at: dict[int, datetime] = {}
    for t in team_tasks:
        if t.kind == "team" and t.state != "cancelled" and t.created_at is not None:
            tasked_at[t.event_id] = min(t.created_at, tasked_at.get(t.event_id, t.created_at))
    team_s: dict[str, list[float]] = {}
    for e in events:
        if e.id in tasked_at and e.resolved_at is not None:
            team_s.setdefault(e.type, []).append((e.resolved_at - tasked_at[e.id]).total_seconds())
    medians = {k: statistics.median(v) for k, v in sorted(team_s.items())}
    all_s = [s for v in team_s.values() for s in v]
    overall = statistics.median(all_s) if all_s else 0.0
    persuadable = [e for e in events if e.id in decided]
    alone = [e for e in persuadable if e.disposition == "persuaded" and e.resolved_at is not None
             and e.id not in tasked_at]
    saved = sum(medians.get(e.type, overall) for e in alone)
    alone_by_type: dict[str, int] = {}
    for e in alone:
        alone_by_type[e.type] = alone_by_type.get(e.type, 0) + 1
    return PersuasionFigures(len(persuadable), len(alone),
                             len(alone) / len(persuadable) if persuadable else None, saved, medians,
                             alone_by_type, {k: len(v) for k, v in sorted(team_s.items())})


def load_figures(session: Session, events: Sequence[Event]) -> PersuasionFigures:
    """``persuasion_figures`` over ``events``, their plays and team tasks read from the database."""
    ids = [e.id for e in events if e.id is not None]
    persuasions: list[Persuasion] = []
    tasks: list[Task] = []
    for i in range(0, len(ids), 500):  # stay under every driver's bound-parameter limit
        chunk = ids[i:i + 500]
        persuasions += session.exec(select(Persuasion).where(Persuasion.event_id.in_(chunk))).all()
        tasks += session.exec(select(Task).where(Task.event_id.in_(chunk),
                                                 Task.kind == "team")).all()
    return persuasion_figures(events, persuasions, tasks)


# ---------------------------------------------------------------- the service side


def _audit(session: Session, event: Event, at: datetime, reason: str, actor: str = ACTOR) -> None:
    # Not a transition: the state stays, the row says what the speaker or the watch did.
    session.add(AuditEntry(event_id=event.id, at=at, actor=actor, from_state=event.state,
                           to_state=event.state, reason=reason))


def _locked(session: Session, event_id: int) -> Event:
    event = session.exec(select(Event).where(Event.id == event_id).with_for_update()).first()
    if event is None:
        raise NotFound(f"no event with id {event_id}; list events with GET /api/v1/events")
    return event


def _what(p: Persuasion) -> str:
    return (f"clip {p.clip_id}" if p.kind == "clip" else f"text “{p.text}”") + f" x{p.repeat}"


class Persuader:
    """Plays warnings, counts scene checks and decides outcomes for one service process.

    ``dispatcher`` returns the live ``dispatch.Dispatcher`` (or raises the service's 503);
    blocking SQL runs in threads, the speaker's ACK is awaited on the loop.
    """

    def __init__(self, *, engine: Engine, bus: AlertBus, clock: Clock,
                 rules: Sequence[PersuasionRule], auto_evaluate: bool,
                 dispatcher: Callable[[], Any]) -> None:
        self.engine, self.bus, self.clock = engine, bus, clock
        self.rules = list(rules)
        self.auto_evaluate = auto_evaluate
        self.dispatcher = dispatcher
        self.spawned: set[asyncio.Task[Any]] = set()

    def rule(self, event: Event) -> PersuasionRule | None:
        return rule_for(self.rules, event.type, event.zone_kind)

    def _watch_rule(self, event: Event) -> PersuasionRule:
        return self.rule(event) or DEFAULT_WATCH

    # ------------------------------------------------------------ playing

    def spawn_rule_play(self, event_id: int) -> None:
        """After the drone reached ``event_id``: play the rule's warning in the background."""
        task = asyncio.create_task(self._rule_play(event_id), name=f"persuade-{event_id}")
        self.spawned.add(task)
        task.add_done_callback(self.spawned.discard)

    async def _rule_play(self, event_id: int) -> None:
        rule = await asyncio.to_thread(self._due_rule, event_id)
        if rule is None:
            return
        try:
            await self.play(event_id, clip_id=rule.clip_id, text=rule.text, repeat=rule.repeat,
                            actor=ACTOR)
        except ServiceError as exc:  # recorded in the audit trail; a team was tasked
            log.warning("rule play on event %s: %s", event_id, exc.message)
        except Exception:  # a background task: say so, never die silently
            log.exception("rule play on event %s", event_id)

    def _due_rule(self, event_id: int) -> PersuasionRule | None:
        """The event's rule when it is on scene with no play yet and no team on it."""
        with Session(self.engine) as session:
            event = session.get(Event, event_id)
            if event is None or event.state != State.ON_SCENE:
                return None
            rule = self.rule(event)
            if rule is None:
                return None
            played = session.exec(select(Persuasion.id).where(Persuasion.event_id == event_id)).first()
            team = session.exec(select(Task.id).where(Task.event_id == event_id, Task.kind == "team",
                                                      Task.state != "cancelled")).first()
            return rule if played is None and team is None else None

    async def play(self, event_id: int, *, clip_id: int | None, text: str | None, repeat: int,
                   actor: str) -> Persuasion:
        """Play one warning through the speaker of the drone on ``event_id`` and start watching.

        Conflict when the event is not on scene, a play is still pending, or no drone is on it;
        SpeakerFailed (502) when the speaker refused or did not answer (the play is recorded as
        failed and the nearest team tasked).
        """
        await asyncio.to_thread(self._playable, event_id)
        dispatcher = self.dispatcher()  # 503 without a fleet, before anything is recorded
        row_id = await asyncio.to_thread(self._request, event_id, clip_id, text, repeat, actor)
        try:
            announcement = await dispatcher.announce(event_id, clip_id=clip_id, text=text,
                                                     repeat=repeat)
        except DroneUnavailable as exc:
            await asyncio.to_thread(self._failed, row_id, None, f"no drone to play it: {exc}")
            raise Conflict(f"no drone is over event {event_id} to play the warning ({exc}); "
                           "dispatch one first (POST /api/v1/dispatch/events/{id}/dispatch)") from exc
        except CommandRejected as exc:
            code = getattr(exc, "result_code", None)
            code = code if isinstance(code, int) else result_code(exc.result)
            team = await asyncio.to_thread(self._failed, row_id, code, f"speaker refused: {exc}")
            raise SpeakerFailed(f"the speaker refused the warning ({exc.result}): {exc}; "
                                + (f"ground team {team} tasked" if team else
                                   "no ground team is free, the worker keeps trying")) from exc
        except (DispatchError, ValueError) as exc:
            team = await asyncio.to_thread(self._failed, row_id, None, f"speaker failed: {exc}")
            raise SpeakerFailed(f"the warning could not be played: {exc}; "
                                + (f"ground team {team} tasked" if team else
                                   "no ground team is free, the worker keeps trying")) from exc
        return await asyncio.to_thread(self._played, row_id, announcement)

    def _playable(self, event_id: int, session: Session | None = None) -> Event:
        """The event, if a warning may play on it now; NotFound or Conflict saying why not."""
        if session is None:
            with Session(self.engine) as own:
                return self._playable(event_id, own)
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

    def _request(self, event_id: int, clip_id: int | None, text: str | None, repeat: int,
                 actor: str) -> int:
        now = self.clock.now()
        with Session(self.engine, expire_on_commit=False) as session, writing(session):
            event = self._playable(event_id, session)
            row = Persuasion(event_id=event_id, kind="clip" if clip_id is not None else "text",
                             clip_id=clip_id, text=text, repeat=repeat, requested_by=actor,
                             requested_at=now)
            session.add(row)
            _audit(session, event, now, f"persuasion requested: {_what(row)}", actor=actor)
            session.commit()
            return row.id

    def _played(self, row_id: int, a: Any) -> Persuasion:
        with Session(self.engine, expire_on_commit=False) as session, writing(session):
            row = session.get(Persuasion, row_id)
            event = _locked(session, row.event_id)
            rule = self._watch_rule(event)
            row.drone_id, row.played_at = a.drone_id, a.accepted_at
            row.result = result_code(a.result)
            row.watch_until = a.accepted_at + timedelta(seconds=rule.watch_s)
            session.add(row)
            _audit(session, event, a.accepted_at,
                   f"played {_what(row)} through drone {a.drone_id}'s speaker (ACK ACCEPTED); "
                   f"watching until {row.watch_until.isoformat()} for {rule.gone_checks} "
                   "consecutive checks without it")
            session.commit()
            return row

    def _failed(self, row_id: int, code: int | None, why: str) -> str | None:
        """Record a failed play and task the nearest team; returns the team tasked, if any."""
        now = self.clock.now()
        with Session(self.engine, expire_on_commit=False) as session, writing(session):
            row = session.get(Persuasion, row_id)
            event = _locked(session, row.event_id)
            row.outcome, row.decided_at, row.result, row.note = "failed", now, code, why
            session.add(row)
            _audit(session, event, now, f"persuasion failed: {why}")
            team_id, alerts = self._task_team(session, event, now, "the warning could not be played")
            session.commit()
        for alert in alerts:
            self.bus.publish(alert)
        return team_id

    # ------------------------------------------------------------ watching

    def scene_check(self, session: Session, event_id: int, body: SceneCheckIn, *,
                    source: str) -> tuple[SceneCheckResult, list[dict[str, Any]]]:
        """Store one scene check; resolve the event as persuaded when it completes the run.

        The caller holds ``writing(session)``, commits and publishes the returned alerts.
        """
        now = self.clock.now()
        event = _locked(session, event_id)
        if event.state not in OPEN_STATES:
            raise Conflict(f"event {event_id} is '{event.state}'; scene checks are taken only "
                           "while an event is open (confirmed, assigned or on scene)")
        check = SceneCheck(event_id=event_id, at=body.at or now, present=body.present,
                           confidence=body.confidence, drone_id=body.drone_id, source=source)
        session.add(check)
        session.flush()
        alerts: list[dict[str, Any]] = []
        row = session.exec(select(Persuasion).where(
            Persuasion.event_id == event_id, Persuasion.outcome == "pending",
            Persuasion.played_at.is_not(None))).first()
        if row is not None and event.state == State.ON_SCENE:
            needed = self._watch_rule(event).gone_checks
            checks = session.exec(select(SceneCheck).where(SceneCheck.event_id == event_id)).all()
            last = gone_run(checks, played_at=row.played_at, watch_until=row.watch_until,
                            needed=needed, seen_since=event.on_scene_at)
            if last is not None:
                alerts = self._persuaded(session, event, row, needed, now)
        result = SceneCheckResult(
            check=SceneCheckPublic.model_validate(check), event_state=event.state,
            persuasion=PersuasionPublic.model_validate(row) if row is not None else None)
        return result, alerts

    def _persuaded(self, session: Session, event: Event, row: Persuasion, needed: int,
                   now: datetime) -> list[dict[str, Any]]:
        row.outcome, row.decided_at = "persuaded", now
        row.note = f"{needed} consecutive scene checks without the {event.type}"
        session.add(row)
        _audit(session, event, now, f"persuaded: {row.note} after {_what(row)}; no ground team")
        outcome = verbs.resolve(session, event.id, disposition="persuaded",
                                note=f"left after the drone's warning ({_what(row)})",
                                actor=ACTOR, now=now, team_id=None,
                                auto_evaluate=self.auto_evaluate)
        return outcome.alerts

    def check_deadlines(self) -> list[dict[str, Any]]:
        """Decide every play whose watch has ended ``stubborn`` and task the nearest team; also
        task a team for stubborn or failed events still without one. Returns alerts to publish."""
        try:
            return self._check_deadlines()
        except Exception:
            log.exception("persuasion deadlines")
            raise

    def _check_deadlines(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        alerts: list[dict[str, Any]] = []
        with Session(self.engine, expire_on_commit=False) as session:
            due = session.exec(select(Persuasion.id).where(
                Persuasion.outcome == "pending", Persuasion.watch_until.is_not(None),
                Persuasion.watch_until <= now)).all()
            has_team = select(Task.id).where(Task.event_id == Persuasion.event_id,
                                             Task.kind == "team", Task.state != "cancelled")
            waiting = session.exec(select(Persuasion.event_id).join(
                Event, Event.id == Persuasion.event_id).where(
                Persuasion.outcome.in_(("stubborn", "failed")),
                Event.state == State.ON_SCENE, ~has_team.exists())).all()
            session.commit()
            for row_id in due:
                with writing(session):
                    alerts += self._stubborn(session, row_id, now)
                    session.commit()
            for event_id in sorted(set(waiting)):
                with writing(session):
                    event = _locked(session, event_id)
                    if event.state == State.ON_SCENE and not self._has_team(session, event_id):
                        _, more = self._task_team(session, event, now, "still unresolved after "
                                                  "the warning", quiet=True)
                        alerts += more
                    session.commit()
        return alerts

    def _stubborn(self, session: Session, row_id: int, now: datetime) -> list[dict[str, Any]]:
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
        _audit(session, event, now, f"stubborn after {_what(row)}: {why}")
        if event.state != State.ON_SCENE:
            return []
        _, alerts = self._task_team(session, event, now, "the vendor stayed after the warning")
        return alerts

    # ------------------------------------------------------------ ground teams

    @staticmethod
    def _has_team(session: Session, event_id: int) -> bool:
        return session.exec(select(Task.id).where(Task.event_id == event_id, Task.kind == "team",
                                                  Task.state != "cancelled")).first() is not None

    def _task_team(self, session: Session, event: Event, now: datetime, why: str, *,
                   quiet: bool = False) -> tuple[str | None, list[dict[str, Any]]]:
        """Task the nearest available team with ``event`` (one audit row either way, unless
        ``quiet`` and none is free); returns the team and the live message for it."""
        if self._has_team(session, event.id):
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
