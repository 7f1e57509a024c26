"""The event page's remote-persuasion panel (远程劝导), in real Chromium: the warnings played on an
event with their outcomes, and the operator's form that plays one through the drone on scene."""

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
    data_dir = tmp_path_factory.mktemp("persuasion-panel")
    url = prepare_db(f"sqlite:///{data_dir / 'flyonce.db'}")
    engine = db.create_db_engine(url)
    with Session(engine) as session:
        # event 1: drone d1 holds over a stall; a clip was played twice and the drone watches
        session.add(Event(id=1, type="street_stall", state="on_scene", lat=29.5, lon=120.9,
                          confidence=0.9, source="test", source_event_id="e1", target_s=180,
                          detected_at=START, alerted_at=START, on_scene_at=START))
        session.flush()
        session.add_all([
            Task(event_id=1, kind="drone", drone_id="d1", state="on_scene", created_by="op",
                 created_at=START),
            Persuasion(event_id=1, drone_id="d1", kind="clip", clip_id=1, repeat=2,
                       requested_by="system:persuasion", requested_at=START,
                       played_at=START + timedelta(seconds=1), result=0,
                       watch_until=START + timedelta(seconds=121), outcome="pending"),
        ])
        session.commit()
    engine.dispose()
    proc = ServerProcess(server_env(url, data_dir))  # no fleet file: no drone can be reached
    yield proc
    proc.stop()


def test_the_operator_sees_the_warning_played_and_can_play_another(browser, server) -> None:
    page = open_page(browser, server, "/ui/event?id=1", user="op")
    row = page.locator("#persuasions tr").first
    row.wait_for()
    assert row.get_attribute("data-outcome") == "pending"
    text = row.inner_text()
    assert "1 street stall: please pack up and leave ×2" in text
    assert "d1" in text and "watching until" in text
    # One warning at a time: the service refuses a second while the first is watched (409), and
    # its message reaches the operator unchanged.
    page.locator("#persuade-form").wait_for()
    page.check('input[name="msg"][value="text"]')
    page.fill("#persuade-text", "您好，这里禁止占道经营，请立即离开。")
    page.click("#persuade-btn")
    toast = page.locator("#toast.error")
    toast.wait_for()
    assert toast.inner_text() == ("event 1 already has warning 1 pending (watched until "
                                  "2026-11-25T08:02:01+00:00); wait for its outcome")
    assert page.script_errors == []
    page.context.close()


def test_an_evaluator_sees_the_warnings_but_no_form(browser, server) -> None:
    page = open_page(browser, server, "/ui/event?id=1", user="eva")
    page.locator("#persuasions tr").first.wait_for()
    assert page.locator("#persuade-form").is_hidden()
    assert page.script_errors == []
    page.context.close()
