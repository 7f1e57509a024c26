"""The ingest's writes in SQLAlchemy Core, not through the ORM's unit of work.

Candidates arrive up to hundreds of times a second, and for them the unit of work (change
tracking, dependency sorting, one flush plan per object) cost several times the SQL itself:
about 4,500 Python calls per new event against about 600 for the same three INSERTs in Core
(tests/bench/bench_reliability.py's load run measures what the server spends). The rows go to the
models' own tables, and the objects come back persistent and clean in the session, exactly as if
the ORM had written them, so what follows an ingest (a snapshot, a review) works on them as usual.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel

from api.core.models import AuditEntry, Event, Sighting, Task

EVENTS: sa.Table = Event.__table__  # type: ignore[attr-defined]
AUDIT: sa.Table = AuditEntry.__table__  # type: ignore[attr-defined]
SIGHTINGS: sa.Table = Sighting.__table__  # type: ignore[attr-defined]
TASKS: sa.Table = Task.__table__  # type: ignore[attr-defined]

# Built once: building a statement costs more than running it.
_INSERT = {t.name: sa.insert(t).returning(t.c.id, sort_by_parameter_order=True)
           for t in (EVENTS, AUDIT, SIGHTINGS)}
_COLUMNS = {t.name: [c.key for c in t.columns if c.key != "id"] for t in (EVENTS, AUDIT, SIGHTINGS)}
_UPDATE_EVENT = sa.update(EVENTS).where(EVENTS.c.id == sa.bindparam("event_id"))
_TEAMS = (sa.select(TASKS.c.team_id).distinct()
          .where(TASKS.c.event_id == sa.bindparam("event_id"), TASKS.c.team_id.is_not(None)))


def _row(obj: SQLModel, table: str) -> dict[str, Any]:
    state = obj.__dict__
    return {key: state.get(key) for key in _COLUMNS[table]}


def insert(session: Session, objs: list[SQLModel], *, keep: bool = True) -> None:
    """INSERT the rows of new objects of one model and set their ids; with ``keep``, they join
    ``session`` as persistent, clean objects (as after an ORM flush). A unique key that refuses
    a row raises IntegrityError here, before anything joins the session."""
    if not objs:
        return
    table = type(objs[0]).__tablename__
    result = session.connection().execute(_INSERT[table], [_row(o, table) for o in objs])
    for obj, new_id in zip(objs, result.scalars().all(), strict=True):
        obj.id = new_id
    if keep:
        for obj in objs:
            make_transient_to_detached(obj)
            session.add(obj)


def update_event(session: Session, event: Event, values: dict[str, Any]) -> None:
    """UPDATE the event's row with ``values`` and set them on the (persistent) object as its
    committed state, so the ORM does not write them again."""
    if not values:
        return
    session.connection().execute(_UPDATE_EVENT.values(**values), {"event_id": event.id})
    for key, value in values.items():
        set_committed_value(event, key, value)


def team_ids(session: Session, event_id: int) -> list[str]:
    """The ground teams tasked with an event (for a live message's audience). Reads committed
    and flushed tasks only: for the ingest, where no task is pending."""
    return sorted(session.connection().execute(_TEAMS, {"event_id": event_id}).scalars())
