"""Ground teams' and drones' tasks on events, as the teams see and accept them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, select

from api.core.errors import NotFound
from api.core.models import Task

LIST_LIMIT = 500


def no_task(task_id: int) -> NotFound:
    """The answer for a task that does not exist or is another team's (the same words)."""
    return NotFound(f"no task with id {task_id}; list tasks with GET /api/v1/tasks")


def tasks(session: Session, *, team_id: str | None) -> Sequence[Task]:
    """The newest tasks (at most LIST_LIMIT); only ``team_id``'s when it is given."""
    query = select(Task).order_by(Task.created_at.desc(), Task.id.desc())
    if team_id is not None:
        query = query.where(Task.team_id == team_id)
    return session.exec(query.limit(LIST_LIMIT)).all()


def accept(session: Session, task_id: int, *, team_id: str | None, now: datetime) -> Task:
    """``team_id`` accepts its task (once; accepting again changes nothing). The caller commits."""
    task = session.get(Task, task_id)
    if task is None or task.team_id != team_id:
        raise no_task(task_id)
    if task.state == "assigned":
        task.state, task.accepted_at = "accepted", now
        session.add(task)
    return task


def visible_task(session: Session, task_id: int, *, team_id: str | None) -> Task:
    """One task, if the reader may see it: staff see any, a ground team only its own."""
    task = session.get(Task, task_id)
    if task is None or (team_id is not None and task.team_id != team_id):
        raise no_task(task_id)
    return task
