"""The service's log lines: plain for a terminal, or one JSON object a line for a collector.

``configure(fmt)`` puts one handler on the root logger whose formatter is structlog's
``ProcessorFormatter``, so every ``logging`` call in the service (and uvicorn's) goes through
the same processors: UTC timestamp, level, logger name, ``extra={...}`` fields, and whatever is
bound in the context. ``event_context(event_id)`` binds ``event_id`` for a block, so every line
logged inside it (routes of ``/events/{id}/…``, a dispatch step, a webhook delivery) carries the
event's id as a field, not only in its words.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any

import structlog
from structlog.contextvars import bound_contextvars

_EVENT_PATH = re.compile(r"/events/(\d+)(?:/|$)")


def configure(fmt: str = "plain", level: str = "INFO", *, stream: Any = None) -> logging.Handler:
    """Route every log record through structlog's formatter (``fmt``: plain or json) to
    ``stream`` (standard error by default); the handler, which replaces an earlier one."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (structlog.processors.JSONRenderer() if fmt == "json"
                     else structlog.dev.ConsoleRenderer(colors=False))
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer])
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_flyonce", False)]:
        root.removeHandler(old)
    handler._flyonce = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    logging.getLogger("flyonce").setLevel(level.upper())
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # one format for every line
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler


@contextlib.contextmanager
def event_context(event_id: Any) -> Iterator[None]:
    """Bind ``event_id`` to every log line inside the block (nothing when it is not an int)."""
    if isinstance(event_id, int) and not isinstance(event_id, bool):
        with bound_contextvars(event_id=event_id):
            yield
    else:
        yield


def event_id_of_path(path: str) -> int | None:
    """The event id in a route path like /api/v1/events/12/review, else None."""
    match = _EVENT_PATH.search(path)
    return int(match.group(1)) if match else None
