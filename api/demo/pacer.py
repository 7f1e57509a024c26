"""Mission time waits for the cameras while a drone watches a warned vendor.

The demo runs mission time ``speedup`` times faster than the wall clock, but its cameras are not
a drone's: one scene check (render a frame, run the detector) takes 0.5 wall s on an idle 2-core
machine and several on a loaded one, and a single patrol frame with its zoom looks can hold the
camera thread for longer. At 12x a 3 s stall is 36 mission s — time in which a warned vendor
packs up and goes (60-90 mission s after the warning in the demo test) unseen. The persuasion
rule then rightly refuses to call the vendor persuaded (the camera never saw the stall on scene,
so its absence proves nothing) and tasks a ground team that finds nothing: the outcome depended
on the machine's load, not on the vendor. A CI run on a loaded machine did exactly that, with
one scene check in 240 mission s where the 10 s cadence asks for 24.

``WatchPacer`` keeps the simulated world from running ahead of its sensor: a thread of its own
(so a camera thread stuck in a long frame cannot delay it) asks the cameras every ``poll_s`` how
far the most overdue scene check is behind (``PatrolCameras.overdue_s``); when that exceeds
``late_s`` mission seconds, mission time runs at ``held_speedup`` (1x, real time: a real camera
looks in well under a second) until the checks are back on time, then at the speed it ran
before. Every reader of the shared ``SimClock`` — fleet physics, the service's deadlines, the
vendors' minds — follows at once, with no jump in mission time. Patrol frames are not paced:
coverage that falls behind is a figure the scorecard reports (frames due vs taken); a watch
that falls behind would change an event's outcome.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("flyonce.demo.pacer")


@dataclass
class PacerStats:
    """How often and how long mission time was held for the cameras."""

    holds: int = 0
    held_wall_s: float = 0.0  # wall s mission time ran at the held speed
    held_mission_s: float = 0.0  # mission s that passed meanwhile
    worst_late_s: float = 0.0  # the most a scene check was overdue (mission s) when polled


class WatchPacer:
    """Hold ``clock`` (a ``SimClock``) at ``held_speedup`` while ``overdue_s(now_s)`` exceeds
    ``late_s``; ``now_s`` gives mission seconds. ``start``/``stop`` a polling thread, or call
    ``step`` (tests)."""

    def __init__(self, clock, overdue_s: Callable[[float], float], now_s: Callable[[], float], *,
                 late_s: float, held_speedup: float = 1.0, poll_s: float = 0.05,
                 on_first_hold: Callable[[float, float], None] | None = None) -> None:
        if late_s < 0 or held_speedup <= 0 or poll_s <= 0:
            raise ValueError("late_s must be >= 0, held_speedup and poll_s > 0")
        self.clock = clock
        self.overdue_s = overdue_s
        self.now_s = now_s
        self.late_s = late_s
        self.held_speedup = held_speedup
        self.poll_s = poll_s
        self.on_first_hold = on_first_hold
        self.stats = PacerStats()
        self._resume: float | None = None  # the speed-up to go back to while holding
        self._since: tuple[float, float] = (0.0, 0.0)  # (wall s, mission s) the hold began
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed = False

    @property
    def holding(self) -> bool:
        return self._resume is not None

    def step(self) -> None:
        """Hold or release once, from how late the cameras are now."""
        now_s = self.now_s()
        late = self.overdue_s(now_s)
        self.stats.worst_late_s = max(self.stats.worst_late_s, late)
        if late > self.late_s and self._resume is None:
            speed = self.clock.speedup
            if speed <= self.held_speedup:
                return  # already no faster than the hold
            self.clock.set_speedup(self.held_speedup)
            self._resume, self._since = speed, (time.perf_counter(), now_s)
            self.stats.holds += 1
            if self.stats.holds == 1 and self.on_first_hold is not None:
                self.on_first_hold(late, speed)
        elif late <= self.late_s and self._resume is not None:
            self._release(now_s)

    def _release(self, now_s: float) -> None:
        self.clock.set_speedup(self._resume)
        self._resume = None
        self.stats.held_wall_s += time.perf_counter() - self._since[0]
        self.stats.held_mission_s += now_s - self._since[1]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="demo-watch-pacer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.step()
            except Exception:  # never leave the clock held because a poll failed
                if not self._failed:  # once a run: a poll every 50 ms would flood the log
                    log.exception("watch pacer step failed; the clock runs unpaced")
                self._failed = True
                if self._resume is not None:
                    self._release(self.now_s())

    def stop(self) -> None:
        """Stop polling; a hold in force ends (the clock runs at its speed again)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._resume is not None:
            self._release(self.now_s())
