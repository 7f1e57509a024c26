"""Review → retrain, end to end, on a scene style the shipped weights were not trained on.

Two rounds: the current weights' findings on fresh frames of the style are posted as
candidates, an operator who knows the truth confirms (correcting box and class where the
detector was off) or rejects each one, the verdicts are exported from the database, the
current weights are fine-tuned on them mixed with rendered crops of the project's own town,
and the candidate is promoted if it is not worse on either class on the held-out verdicts.
The detector's precision on a fixed set of frames of the style, which no round sees, must be
higher after the two rounds than before: measured, and printed.

Kept cheap: 640x480 frames, 5 a round, a 2-epoch fine-tune at 320 px on the CPU.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli.reviews import reviewed_images
from api.core.auth import create_token
from api.core.settings import Settings
from detection.model import DEFAULT_WEIGHTS, Detector
from detection.reviews import RetrainSettings, export_reviews, fine_tune
from detection.versions import ModelRegistry, version_of
from simulators.camera.dataset import SplitSpec, export_yolo
from tests import review_loop as loop
from tests.api.conftest import START, TEST_SECRET, ManualClock, seed_fleet

STYLE = "hue120"  # tests/review_loop.py: the shipped weights' precision there is 0.44
ROUND_FRAMES = 5
TEST_FRAMES = 8


@pytest.fixture
def world(tmp_path: Path):
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'flyonce.db'}",
                        data_dir=tmp_path, secret_key=TEST_SECRET, merge_radius_m=0.0,
                        models_dir=tmp_path / "models")
    app = create_app(settings, clock=ManualClock())
    headers = {name: {"Authorization": "Bearer " + create_token(name, role, secret=TEST_SECRET,
                                                                 ttl_s=3600)}
               for name, role in (("op", "operator"), ("det", "detector"), ("eva", "evaluator"))}
    with TestClient(app) as client:
        seed_fleet(app.state.engine)
        yield client, headers, settings


def test_two_rounds_of_reviews_raise_precision_on_an_unseen_style(world, tmp_path: Path) -> None:
    client, headers, settings = world
    cpu0 = time.process_time()
    registry = ModelRegistry(settings.resolved_models_dir, DEFAULT_WEIGHTS)
    held_out_frames = loop.render_frames(STYLE, town_seed=403, count=TEST_FRAMES, seed=3)
    rendered = export_yolo(tmp_path / "rendered",
                           {"train": SplitSpec((101,), 4, 1, crop_px=320)})  # 8 crops

    def detector() -> Detector:
        return Detector(registry.current_weights(), imgsz=loop.FRAME_WH[0], conf=0.25)

    before = loop.tally(detector(), held_out_frames)
    rounds = []
    for k, town in enumerate((401, 402)):
        det = detector()
        made = loop.post_findings(client, headers["det"], det,
                                  loop.render_frames(STYLE, town, ROUND_FRAMES, seed=k + 1), f"r{k}")
        verdicts = loop.operator_review(client, headers["op"], made)
        export = export_reviews(reviewed_images(settings), tmp_path / "reviews",
                                heldout_share=0.25, seed=0)
        report = fine_tune(tmp_path / "reviews", rendered, registry.current_weights(),
                           tmp_path / f"run{k}", RetrainSettings(epochs=2, batch=8, lr0=0.0003,
                                                                  review_repeat=2))
        promoted = not report["worse_on"]
        if promoted:
            registry.promote(report["candidate"], now=START, parent=det.version,
                             figures=report["candidate_scores"])
        after = loop.tally(detector(), held_out_frames)
        rounds.append((det.version, verdicts, export, report, promoted, after))
    print(f"\n{time.process_time() - cpu0:.0f} CPU s in this process (2 torch threads)")
    print(f"style {STYLE}: before P {before.precision:.3f} R {before.recall:.3f} "
          f"(tp {before.tp} fp {before.fp} of {before.truth})")
    for k, (version, verdicts, export, report, promoted, after) in enumerate(rounds, 1):
        print(f"round {k} ({version}): verdicts {verdicts}, export train/held-out "
              f"{export['train']}/{export['heldout']}; held-out errors by class candidate "
              f"{ {t: s['errors'] for t, s in report['candidate_scores'].items()} } current "
              f"{ {t: s['errors'] for t, s in report['current_scores'].items()} }; "
              f"promoted {promoted}; after P {after.precision:.3f} R {after.recall:.3f} "
              f"(tp {after.tp} fp {after.fp})")

    # every verdict is a sample, and each event says which weights found it
    samples = client.get("/api/v1/reviews/samples", headers=headers["eva"]).json()
    assert len(samples) == sum(sum(v[k] for k in ("confirm", "reject"))
                               for _, v, *_ in rounds)
    assert {s["model_version"] for s in samples} == {r[0] for r in rounds}
    # the evaluator's precision by version is confirmed / (confirmed + rejected) per round
    by_version = {v["model_version"]: v for v in
                  client.get("/api/v1/detection/models", headers=headers["eva"]).json()}
    for version, verdicts, *_ in rounds:
        if version == rounds[0][0] and version == rounds[-1][0]:
            continue  # both rounds ran the same weights: their counts are pooled
        row = by_version[version]
        assert (row["confirmed"], row["rejected"]) == (verdicts["confirm"], verdicts["reject"])
    final = rounds[-1][-1]
    assert any(r[4] for r in rounds), "no round's candidate passed the held-out gate"
    assert registry.current_version() != version_of(DEFAULT_WEIGHTS)
    assert final.precision > before.precision, (before, final)
