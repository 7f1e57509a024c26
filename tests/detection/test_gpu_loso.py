"""docs/gpu/loso.py, the leave-one-style-out run meant for a lent GPU, run tiny on this CPU:
it must work the first time it gets a device, where each minute is scarce."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def test_tiny_cells_render_train_and_score_on_the_style_each_left_out(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    run = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "gpu" / "loso.py"), "--out", str(out),
         "--work", str(work), "--device", "cpu", "--precision", "fp32", "--frames", "2",
         "--val-frames", "1", "--test-frames", "2", "--cells", "dusk", "town", "--batch", "4",
         "--loader-workers", "0", "--render-workers", "1", "--cell-s", "10",
         "--budget-s", "600"],
        capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == json.loads((out / "result.json").read_text())
    cell = result["cells"]["dusk"]
    # every style but the one left out, plus the training-only varied
    assert cell["trained_on"] == ["town", "bazaar", "varied"]
    assert cell["init"] == "flyonce-yolo.pt"  # dusk's cell may start from the town-only weights
    # the town cell must not start from weights that saw the town: bare architecture
    town = result["cells"]["town"]
    assert town["trained_on"] == ["bazaar", "dusk", "varied"] and town["init"] is None
    assert "cell town: training on bazaar + dusk + varied for 10 s from bare weights" in (
        out / "log.txt").read_text()
    # the training data: 2 frames of each style, 2 crops a frame, rendered once for both cells
    for style in ("town", "bazaar", "dusk", "varied"):
        assert len(list((work / "styles" / style / "images" / "train").glob("*.jpg"))) == 4
    # the scorer counted exactly the objects the left-out style's 2 test frames hold
    labels = sorted((work / "test" / "dusk" / "labels" / "test").glob("*.txt"))
    assert len(labels) == 2
    classes = np.concatenate([np.loadtxt(p, ndmin=2).reshape(-1, 5)[:, 0]
                              for p in labels]).astype(int)
    scores = cell["scores"]
    assert scores["street_stall"]["objects"] == int((classes == 0).sum())
    assert scores["mobile_fuel_sale"]["objects"] == int((classes == 1).sum())
    for cell in ("dusk", "town"):  # each cell's best, a whole yolo11n checkpoint
        assert (out / f"{cell}.pt").stat().st_size > 1_000_000
    assert "cell dusk: training on town + bazaar + varied" in (out / "log.txt").read_text()
