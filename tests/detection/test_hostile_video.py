"""``flyonce detect`` on video that is not what it claims: an empty file, a truncated clip,
random bytes. Each is refused with exit status 2 and one line naming the file and what is wrong
(never a traceback), before a model is loaded for nothing."""

from __future__ import annotations

import os
import shutil

import pytest
from typer.testing import CliRunner

from detection.cli import detect
from tests.detection.test_cli import app_of

pytestmark = pytest.mark.slow


def _broken(clip, tmp_path, name: str, data: bytes):
    paths, _, _ = clip
    video = tmp_path / f"{name}.mp4"
    video.write_bytes(data)
    shutil.copy(paths["srt"], tmp_path / f"{name}.SRT")  # the sidecar is fine: only the video is bad
    return video


@pytest.mark.parametrize(("name", "make", "problem"), [
    ("empty", lambda good: b"", "is empty (0 bytes)"),
    # the writer puts the index (moov) last: cut in half, the file cannot be opened at all
    ("truncated", lambda good: good[: len(good) // 2], "not a readable video"),
    ("noise", lambda good: os.urandom(len(good) // 4), "not a readable video"),
    # the index intact but the frames' bytes from a third of the way on zeroed
    ("zeroed", lambda good: good[: len(good) // 3] + bytes(len(good) // 2)
     + good[len(good) // 3 + len(good) // 2:], "truncated or damaged"),
])
def test_a_bad_video_is_refused_naming_the_file_and_the_problem(clip, tmp_path, name, make,
                                                                   problem):
    good = clip[0]["video"].read_bytes()
    video = _broken(clip, tmp_path, name, make(good))
    result = CliRunner().invoke(app_of(detect), [str(video)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [line] = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert f"{name}.mp4" in line and problem in line, line
    assert result.stdout == ""  # no candidate from a video that could not be read
