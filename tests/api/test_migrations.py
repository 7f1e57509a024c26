"""Migrations: the tables the code declares are exactly what the migrations build, and
upgrading again keeps every stored row."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel, func, select

from api.core import db
from api.core.models import AuditEntry, Event
from api.lifecycle.states import record_creation
from tests.api.conftest import START


def test_migrations_match_the_models(db_url: str) -> None:
    engine = db.create_db_engine(db_url)
    db.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_again_keeps_data(db_url: str) -> None:
    engine = db.create_db_engine(db_url)
    db.upgrade(engine)
    with Session(engine) as session:
        for i in range(3):
            event = Event(type="street_stall", state="detected", lat=29.5, lon=120.9, confidence=0.5,
                          source="m", source_event_id=str(i), target_s=180)
            record_creation(session, event, actor="t", at=START)
        session.commit()
    db.upgrade(engine)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Event)).one() == 3
        assert session.exec(select(func.count()).select_from(AuditEntry)).one() == 3
        version = session.exec(sa.text("SELECT version_num FROM alembic_version")).one()[0]
    engine.dispose()
    head = max(p.name.split("_")[0] for p in (db.MIGRATIONS / "versions").glob("*.py"))
    assert version == head
