"""Every (from, to) pair of lifecycle states: legal ones move and audit, illegal ones change nothing."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from api.core import db
from api.core.errors import IllegalTransition
from api.core.models import AuditEntry, Event
from api.lifecycle.states import State, apply_transition, record_creation
from tests.api.conftest import START

# Written out from ARCHITECTURE.md's lifecycle table, independently of api.lifecycle.TRANSITIONS.
LEGAL = {
    ("detected", "alerted"), ("detected", "rejected"),
    ("alerted", "confirmed"), ("alerted", "rejected"),
    ("confirmed", "assigned"),
    ("assigned", "on_scene"),
    ("on_scene", "resolved"),
    ("resolved", "evaluated"), ("rejected", "evaluated"),
}
STATES = ["detected", "alerted", "confirmed", "rejected", "assigned", "on_scene", "resolved", "evaluated"]
PAIRS = list(itertools.product(STATES, STATES))


@pytest.fixture
def engine(db_url: str) -> sa.Engine:
    engine = db.create_db_engine(db_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


def _event_in(session: Session, state: str) -> Event:
    event = Event(type="street_stall", state="detected", lat=29.5, lon=120.9, confidence=0.9,
                  source="t", source_event_id=f"{state}-{id(session)}", target_s=180)
    record_creation(session, event, actor="test", at=START)
    event.state = state  # place it directly in the state under test
    session.commit()
    return event


def test_the_table_covers_every_state_once() -> None:
    assert {s.value for s in State} == set(STATES)


@pytest.mark.parametrize(("from_state", "to_state"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_transition(engine: sa.Engine, from_state: str, to_state: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        event = _event_in(session, from_state)
        event_id = event.id
        rows_before = len(session.exec(select(AuditEntry).where(AuditEntry.event_id == event.id)).all())
        if (from_state, to_state) in LEGAL:
            entry = apply_transition(session, event, to_state, actor="op", at=START, reason="r")
            session.commit()
            assert (entry.from_state, entry.to_state, entry.actor) == (from_state, to_state, "op")
            expected_state, expected_rows = to_state, rows_before + 1
        else:
            with pytest.raises(IllegalTransition) as info:
                apply_transition(session, event, to_state, actor="op", at=START)
            allowed = sorted(b for a, b in LEGAL if a == from_state)
            assert info.value.allowed == allowed
            session.rollback()
            expected_state, expected_rows = from_state, rows_before
    with Session(engine) as session:
        stored = session.get(Event, event_id)
        assert stored.state == expected_state
        rows = session.exec(select(AuditEntry).where(AuditEntry.event_id == event_id)).all()
        assert len(rows) == expected_rows
