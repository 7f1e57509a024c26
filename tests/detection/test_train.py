"""Training in bfloat16 on the CPU: the same loss as fp32 within bf16's rounding, and a real
ultralytics epoch that runs its convolutions in bf16 and channels-last on the threads asked for,
then leaves ultralytics as it found it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from detection.errors import TrainingError
from detection.model import DEFAULT_WEIGHTS
from detection.train import AUGMENT, TrainSettings, _cpu_bf16, _Fp32Loss, cpu_has_bf16, train
from simulators.camera.dataset import SplitSpec, export_yolo
from tests.detection.conftest import rendered_crops


def test_an_unknown_precision_is_refused_before_anything_loads(tmp_path):
    # the dataset does not exist either: the precision is checked first, so the message is its
    with pytest.raises(TrainingError, match="'fp16' is not one of fp32, bf16"):
        train(tmp_path / "data.yaml", tmp_path / "runs", TrainSettings(precision="fp16"))


def test_an_unknown_augmentation_is_refused_naming_the_presets(tmp_path):
    with pytest.raises(TrainingError, match="'heavy' is not one of flyonce, styles"):
        train(tmp_path / "data.yaml", tmp_path / "runs", TrainSettings(augment="heavy"))


def test_the_styles_preset_varies_every_hue_and_the_shipped_one_none_of_it():
    """hsv_h is a fraction of the hue circle either way: 0.5 reaches any hue; the shipped
    stages keep ultralytics' default (0.015, a 5 degree swing) by not naming it."""
    assert AUGMENT["styles"]["hsv_h"] == 0.5
    assert "hsv_h" not in AUGMENT["flyonce"]
    assert AUGMENT["flyonce"] == {"flipud": 0.5, "fliplr": 0.5, "scale": 0.3}


def test_bf16_support_is_read_from_the_cpu_flags(tmp_path):
    amd = tmp_path / "amd"
    amd.write_text("flags\t\t: fpu sse2 avx2 avx512f avx512bw\n")
    intel = tmp_path / "intel"
    intel.write_text("flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile\n")
    assert not cpu_has_bf16(amd)
    assert cpu_has_bf16(intel)
    assert cpu_has_bf16(tmp_path / "absent")  # unknown: no warning on a guess


def test_cpu_bf16_swaps_the_trainer_autocast_for_one_run_only():
    from ultralytics.engine import trainer as trainer_module

    original = trainer_module.autocast
    conv = torch.nn.Conv2d(3, 8, 3)
    x = torch.rand(1, 3, 16, 16)
    with _cpu_bf16():
        with trainer_module.autocast(torch.bfloat16, device="cpu"):
            assert conv(x).dtype == torch.bfloat16
        with trainer_module.autocast(False, device="cpu"):  # amp off stays off
            assert conv(x).dtype == torch.float32
    assert trainer_module.autocast is original


def _batch(n_frames: int = 4, size_px: int = 320) -> dict:
    """Rendered crops with their true boxes, as ultralytics' trainer hands a batch to the loss."""
    images, cls, boxes, index = [], [], [], []
    for image, true in rendered_crops(size_px, seed=0):
        if not true:
            continue
        for b in true:
            x0, y0, x1, y1 = b.xyxy
            cls.append([b.class_id])
            boxes.append([(x0 + x1) / 2 / size_px, (y0 + y1) / 2 / size_px,
                          (x1 - x0) / size_px, (y1 - y0) / size_px])
            index.append(len(images))
        images.append(image[:, :, ::-1].transpose(2, 0, 1).copy())  # BGR HWC -> RGB CHW
        if len(images) == n_frames:
            break
    return {"img": torch.from_numpy(np.stack(images)).float() / 255,
            "cls": torch.tensor(cls, dtype=torch.float32),
            "bboxes": torch.tensor(boxes, dtype=torch.float32),
            "batch_idx": torch.tensor(index, dtype=torch.float32)}


def test_the_bf16_network_with_the_fp32_loss_matches_fp32_within_rounding():
    """bf16 keeps 8 significant bits: a rounding of at most 2^-9 = 0.2 % a value. The loss is
    taken in fp32 from the bf16 outputs, so the box and DFL terms stay within a few tenths of a
    percent of the all-fp32 ones. The class term moves more: ultralytics' task-aligned assigner
    weighs each anchor's target by IoU^6, so a 0.2 % slip in a box moves its weight about 1.2 %
    (measured: 0.2 % with the stage-5 weights, 1.0 % with stage 6's). 2.5 % is far below the
    10-20 % between one epoch's loss and the next, and would catch the loss itself run under
    autocast (its class term moves by 3.8 % and 5.2 % with the same two weights)."""
    from ultralytics import YOLO
    from ultralytics.cfg import get_cfg

    model = YOLO(str(DEFAULT_WEIGHTS)).model.float().train()
    model.args = get_cfg()  # the loss gains (box 7.5, cls 0.5, dfl 1.5) the trainer would set
    batch = _batch()
    loss = _Fp32Loss(model.init_criterion())
    with torch.no_grad():
        fp32, _ = loss(model.predict(batch["img"]), batch)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            preds = model.predict(batch["img"])
            assert preds["boxes"].dtype == torch.bfloat16
            bf16, _ = loss(preds, batch)
    assert bf16.dtype == torch.float32 and (fp32 > 0).all()
    rel = ((bf16 - fp32).abs() / fp32).max().item()
    assert rel < 0.025, (fp32.tolist(), bf16.tolist())


@pytest.mark.slow
def test_a_bf16_epoch_runs_convolutions_in_bf16_and_channels_last(tmp_path):
    from ultralytics.engine import trainer as trainer_module

    splits = {"train": SplitSpec((7,), 6, 1, crop_px=320), "val": SplitSpec((8,), 2, 2,
                                                                              crop_px=320)}
    data = export_yolo(tmp_path / "ds", splits, town_size_m=300.0)
    seen: dict = {}

    def watch_first_conv(trainer) -> None:
        conv = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d))
        seen["channels_last"] = conv.weight.is_contiguous(memory_format=torch.channels_last)
        seen["weight_dtype"] = conv.weight.dtype
        seen["loss"] = type(trainer.model.criterion).__name__
        seen["threads"] = torch.get_num_threads()  # ultralytics would leave cores - 1

        def hook(_module, _inputs, output):
            if conv.training:  # the training forward, not the fp32 validation
                seen.setdefault("train_output_dtype", output.dtype)
        conv.register_forward_hook(hook)

    original = trainer_module.autocast
    settings = TrainSettings(epochs=1, batch=4, nbs=4, close_mosaic=0, warmup_epochs=0,
                             optimizer="AdamW", lr0=0.0001, init_weights=str(DEFAULT_WEIGHTS),
                             precision="bf16", threads=2)
    result = train(data, tmp_path / "runs", settings, callbacks={"on_train_start":
                                                                 watch_first_conv})
    assert seen == {"channels_last": True, "weight_dtype": torch.float32, "loss": "_Fp32Loss",
                    "threads": 2, "train_output_dtype": torch.bfloat16}
    assert trainer_module.autocast is original
    from ultralytics import YOLO

    best = YOLO(result["best"]).model  # saved NCHW, as every checkpoint is
    conv = next(m for m in best.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous()


@pytest.mark.slow
def test_a_time_budget_shorter_than_an_epoch_ends_the_run_after_one(tmp_path):
    """``time_h`` is ultralytics' time mode: after each epoch the epoch count is re-set to the
    budget over the mean epoch time. A budget of 0.036 s is far under one epoch (seconds on a
    CPU), so a run asked for 5 epochs trains 1 and writes one row of results."""
    splits = {"train": SplitSpec((7,), 4, 1, crop_px=320), "val": SplitSpec((8,), 2, 2,
                                                                              crop_px=320)}
    data = export_yolo(tmp_path / "ds", splits, town_size_m=300.0)
    settings = TrainSettings(epochs=5, batch=4, nbs=4, close_mosaic=0, warmup_epochs=0,
                             optimizer="AdamW", lr0=0.0001, init_weights=str(DEFAULT_WEIGHTS),
                             time_h=1e-5, deterministic=False)
    result = train(data, tmp_path / "runs", settings)
    rows = (tmp_path / "runs" / "run" / "results.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 1  # the header and epoch 1
    assert result["settings"]["time_h"] == 1e-5
