"""The loudspeaker's orchestration: play a warning on the drone over the scene, then keep time.

The rules, the records and the decisions are ``api.enforcement.persuasion``'s verbs; this class
only sequences them around the drone's speaker (``dispatch.Dispatcher.announce``) on the event
loop, runs each verb in a thread in its own transaction, publishes the alerts, and runs the rule
plays in the background after a drone arrives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.core.bus import AlertBus
from api.core.clock import Clock
from api.core.db import writing
from api.core.errors import Conflict, ServiceError
from api.core.models import Event, Persuasion
from api.core.settings import PersuasionRule
from api.enforcement import persuasion
from dispatch.errors import CommandRejected, DispatchError, DroneUnavailable

log = logging.getLogger("flyonce.api.persuasion")


class SpeakerFailed(ServiceError):
    """502: the drone's speaker refused or never answered; the nearest team was tasked."""

    status_code = 502


class Persuader:
    """Plays warnings and decides their deadlines for one service process.

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
        return persuasion.rule_of(self.rules, event)

    def _write(self, verb: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``verb(session, *args, **kwargs)`` in its own write transaction, committed."""
        with Session(self.engine, expire_on_commit=False) as session, writing(session):
            result = verb(session, *args, **kwargs)
            session.commit()
            return result

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
                            actor=persuasion.ACTOR)
        except ServiceError as exc:  # recorded in the audit trail; a team was tasked
            log.warning("rule play on event %s: %s", event_id, exc.message)
        except Exception:  # a background task: say so, never die silently
            log.exception("rule play on event %s", event_id)

    def _due_rule(self, event_id: int) -> PersuasionRule | None:
        with Session(self.engine) as session:
            return persuasion.due_rule(session, event_id, self.rules)

    def _playable(self, event_id: int) -> None:
        with Session(self.engine) as session:
            persuasion.playable(session, event_id)

    async def play(self, event_id: int, *, clip_id: int | None, text: str | None, repeat: int,
                   actor: str) -> Persuasion:
        """Play one warning through the speaker of the drone on ``event_id`` and start watching.

        Conflict when the event is not on scene, a play is still pending, or no drone is on it;
        SpeakerFailed (502) when the speaker refused or did not answer (the play is recorded as
        failed and the nearest team tasked).
        """
        await asyncio.to_thread(self._playable, event_id)
        dispatcher = self.dispatcher()  # 503 without a fleet, before anything is recorded
        row = await asyncio.to_thread(
            self._write, persuasion.request_play, event_id, clip_id=clip_id, text=text,
            repeat=repeat, actor=actor, now=self.clock.now())
        try:
            announcement = await dispatcher.announce(event_id, clip_id=clip_id, text=text,
                                                     repeat=repeat)
        except DroneUnavailable as exc:
            await asyncio.to_thread(self._failed, row.id, None, f"no drone to play it: {exc}")
            raise Conflict(f"no drone is over event {event_id} to play the warning ({exc}); "
                           "dispatch one first (POST /api/v1/dispatch/events/{id}/dispatch)") from exc
        except CommandRejected as exc:
            code = getattr(exc, "result_code", None)
            code = code if isinstance(code, int) else persuasion.result_code(exc.result)
            team = await asyncio.to_thread(self._failed, row.id, code, f"speaker refused: {exc}")
            raise SpeakerFailed(f"the speaker refused the warning ({exc.result}): {exc}; "
                                + (f"ground team {team} tasked" if team else
                                   "no ground team is free, the worker keeps trying")) from exc
        except (DispatchError, ValueError) as exc:
            team = await asyncio.to_thread(self._failed, row.id, None, f"speaker failed: {exc}")
            raise SpeakerFailed(f"the warning could not be played: {exc}; "
                                + (f"ground team {team} tasked" if team else
                                   "no ground team is free, the worker keeps trying")) from exc
        return await asyncio.to_thread(
            self._write, persuasion.record_played, row.id, drone_id=announcement.drone_id,
            accepted_at=announcement.accepted_at, result=announcement.result, rules=self.rules)

    def _failed(self, row_id: int, code: int | None, why: str) -> str | None:
        """Record a failed play and task the nearest team; returns the team tasked, if any."""
        team_id, alerts = self._write(persuasion.record_failed, row_id, code=code, why=why,
                                      now=self.clock.now())
        for alert in alerts:
            self.bus.publish(alert)
        return team_id

    # ------------------------------------------------------------ deadlines

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
            due, waiting = persuasion.past_deadline(session, now)
            session.commit()
        for row_id in due:
            alerts += self._write(persuasion.decide_stubborn, row_id, now)
        for event_id in waiting:
            alerts += self._write(persuasion.task_team_if_waiting, event_id, now)
        return alerts
