"""The demo keeps up: the speed-up it slows to when a patrol frame costs too much, and progress
lines that reach a log file and a pipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.demo.cli import ProgressLog
from api.demo.orchestrator import keep_up_speedup


@pytest.mark.parametrize(("frame_s", "expected"), [
    # 3 patrols at 12 m/s framing every 30 m need 1.2 frames per mission s. With 0.6 of the
    # camera thread for them, a 0.05 s frame fits 0.6 / (1.2 * 0.05) = 10x: the asked 10x stays.
    (0.05, 10.0),
    # 0.25 s a frame: 0.6 / (1.2 * 0.25) = 2.0x
    (0.25, 2.0),
    # 0.3 s: 1.666...x, rounded down to 1.6x (never above what fits)
    (0.3, 1.6),
])
def test_keep_up_speedup(frame_s: float, expected: float) -> None:
    assert keep_up_speedup(10.0, frame_s=frame_s, patrols=3, spacing_m=30.0, headroom=0.6) == pytest.approx(expected)


def test_a_slowed_run_frames_what_it_must() -> None:
    # At the chosen speed-up the due frames take at most the headroom of the camera's time.
    from api.demo.orchestrator import CAMERA_HEADROOM

    speedup = keep_up_speedup(10.0, frame_s=0.4, patrols=3, spacing_m=36.0)
    frames_per_wall_s = 3 * 12.0 / 36.0 * speedup
    assert 0 < frames_per_wall_s * 0.4 <= CAMERA_HEADROOM + 1e-9


def test_progress_lines_reach_the_log_file_and_a_pipe(tmp_path: Path, capsys) -> None:
    log = ProgressLog(tmp_path / "progress.log", echo=True, every_s=60.0)
    for now_s in (0.0, 30.0, 61.0, 90.0, 121.0):
        log.progress(now_s, 1800.0, "frames 3", winding=False)
    log.progress(1800.0, 1800.0, "frames 9", winding=True)
    log.progress(1810.0, 1800.0, "frames 9", winding=True)
    lines = (tmp_path / "progress.log").read_text().splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == [
        "mission 0/1800 s · frames 3", "mission 61/1800 s · frames 3",
        "mission 121/1800 s · frames 3", "mission over at 1800 s; closing open events · frames 9"]
    assert capsys.readouterr().out.splitlines() == lines


def test_no_log_file_before_the_run_made_its_folder(tmp_path: Path) -> None:
    log = ProgressLog(tmp_path / "not-yet" / "progress.log", echo=False)
    log.line("staging")
    assert not (tmp_path / "not-yet").exists()
