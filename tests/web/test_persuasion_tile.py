"""The evaluator page shows the remote-persuasion figures (远程劝导) as one tile, in real Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session

from api.core import db
from api.core.models import Event, Persuasion, Task
from tests.api.conftest import START, ServerProcess, prepare_db, server_env
from tests.web.conftest import open_page


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("persuasion-web")
    url = prepare_db(f"sqlite:///{data_dir / 'flyonce.db'}")
    engine = db.create_db_engine(url)
    with Session(engine) as session:
        # two warned stalls: one left after the warning (no team), one needed team t1,
        # which took 30 min from tasking to resolution
        for i, disposition in ((1, "persuaded"), (2, "removed")):
            session.add(Event(id=i, type="street_stall", state="evaluated", lat=29.5, lon=120.9,
                              confidence=1, source="test", source_event_id=f"e{i}",
                              target_s=180, disposition=disposition, detected_at=START,
                              alerted_at=START, resolved_at=START + timedelta(minutes=40)))
        session.flush()
        session.add_all([
            Persuasion(event_id=1, kind="clip", clip_id=1, requested_by="system:persuasion",
                       requested_at=START, outcome="persuaded"),
            Persuasion(event_id=2, kind="clip", clip_id=1, requested_by="system:persuasion",
                       requested_at=START, outcome="stubborn"),
            Task(event_id=2, kind="team", team_id="t1", created_by="system:persuasion",
                 created_at=START + timedelta(minutes=10)),
        ])
        session.commit()
    engine.dispose()
    proc = ServerProcess(server_env(url, data_dir))
    yield proc
    proc.stop()


def test_the_evaluator_sees_the_share_persuaded_and_the_hours_saved(browser, server) -> None:
    page = open_page(browser, server, "/ui/evaluate", user="eva")
    tile = page.locator('.tile[data-figure="persuaded"]')
    tile.wait_for()
    # 1 of 2 warned without a team: 50 %; it saves the team's 30 min: 0.5 h
    assert tile.locator(".v").inner_text() == "50% (1/2) · 0.5 h"
    assert "team hours saved" in tile.locator(".k").inner_text()
    assert page.script_errors == []
    page.context.close()
