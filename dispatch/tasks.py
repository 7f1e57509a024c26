"""Stopping background asyncio tasks: the one way every service piece (dispatcher, leader
election, patrol scheduler, webhooks, video, alert relay) ends its tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger("flyonce.tasks")

STOP_WAIT_S = 10.0  # wall s a stop gives its cancelled tasks to end


async def cancel_and_wait(tasks: Iterable[asyncio.Task | None], *,
                          timeout_s: float | None = None) -> None:
    """Cancel ``tasks`` (None entries skipped) and wait up to ``timeout_s`` (``STOP_WAIT_S``)
    for them to end.

    Not ``await task`` under ``suppress(CancelledError)``: a caller that is itself cancelled
    while it waits stays cancelled, and a task that ignores its cancel is named in a warning
    instead of being waited on for ever. An error a task died of was already its own to report;
    it is retrieved here so asyncio does not report it again.
    """
    pending_tasks = [t for t in tasks if t is not None]
    for task in pending_tasks:
        task.cancel()
    if not pending_tasks:
        return
    wait_s = STOP_WAIT_S if timeout_s is None else timeout_s
    done, pending = await asyncio.wait(pending_tasks, timeout=wait_s)
    for task in done:
        if not task.cancelled():
            task.exception()
    for task in pending:
        log.warning("task %s did not stop within %g s of its cancel; left running (%r)",
                    task.get_name(), wait_s, task.get_coro())
