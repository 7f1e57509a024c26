"""The training-curve plot reads ultralytics' results.csv as it writes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.errors import TrainingError
from detection.train import plot_curves, read_history

# ultralytics pads its column names with spaces in some versions; both forms must read alike
HEADER = ("epoch,  time,train/box_loss,metrics/precision(B),metrics/recall(B),metrics/mAP50(B),"
          "metrics/mAP50-95(B)")


def _csv(path: Path, rows: list[tuple[int, float, float]]) -> Path:
    lines = [HEADER] + [f"{e},{10.0 * e},2.0,0.5,0.4,{m50},{m}" for e, m50, m in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_history_reads_each_epoch_with_stripped_names(tmp_path):
    rows = read_history(_csv(tmp_path / "results.csv", [(1, 0.2, 0.08), (2, 0.25, 0.1)]))
    assert [r["epoch"] for r in rows] == [1.0, 2.0]
    assert rows[1]["metrics/mAP50(B)"] == 0.25 and rows[1]["time"] == 20.0


def test_stages_plot_to_one_png(tmp_path):
    a = _csv(tmp_path / "a.csv", [(1, 0.2, 0.08), (2, 0.25, 0.1)])
    b = _csv(tmp_path / "b.csv", [(1, 0.24, 0.1), (2, 0.3, 0.12), (3, 0.33, 0.14)])
    out = plot_curves([("stage 1", a), ("stage 2", b)], tmp_path / "curves.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


@pytest.mark.parametrize(("runs", "words"), [
    ([], "at least one results.csv"),
    ([("x", Path("/nonexistent/results.csv"))], "no training history at /nonexistent"),
])
def test_nothing_to_plot_says_what_to_give(tmp_path, runs, words):
    with pytest.raises(TrainingError, match=words):
        plot_curves(runs, tmp_path / "c.png")
