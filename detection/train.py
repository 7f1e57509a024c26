"""Training the detector with ultralytics from an architecture file: no pretrained download."""

from __future__ import annotations

import contextlib
import os
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from detection.errors import TrainingError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class TrainSettings:
    """The settings that reproduce the shipped weights (defaults are the shipped run)."""

    architecture: str = "yolo11n.yaml"
    epochs: int = 15
    imgsz: int = 320  # the training crops are 320 px; the pipeline runs whole frames at 1280
    batch: int = 16
    # images per optimizer step (ultralytics accumulates gradients up to it; its default 64 gives
    # a 1400-image epoch only 22 steps; stage 2 steps every batch)
    nbs: int = 64
    optimizer: str = "auto"  # ultralytics' choice for short runs: AdamW at lr 0.00167
    lr0: float = 0.01  # used only when ``optimizer`` is named (ultralytics' default)
    seed: int = 0
    threads: int = 2  # run it under `nice`: the CPU is shared
    device: str = "cpu"
    workers: int = 0
    patience: int = 100
    close_mosaic: int = 3
    # fine-tuning: start from these weights instead of the bare architecture (stage 2 of the
    # shipped model starts from stage 1's); None trains from scratch
    init_weights: str | None = None
    warmup_epochs: float = 3.0
    warmup_bias_lr: float = 0.1  # ultralytics' default; 0 for fine-tuning, so biases are not jolted
    # stop after this many epochs while the lr schedule still spans ``epochs`` (a run cut short by
    # a deadline is reproduced exactly by giving the epoch it stopped at); None runs them all
    stop_after: int | None = None
    # "bf16" runs the forward pass and loss under bfloat16 autocast, on a CPU with the model in
    # channels-last layout (oneDNN's bf16 convolutions: 1.85x the images per second of fp32 on
    # this AVX-512 BF16 CPU, see _cpu_bf16); weights, optimizer and validation stay fp32, and no
    # AMP check (which downloads a model) runs. "fp32" is the plain run of stages 1-5.
    precision: str = "fp32"
    # train for this many hours instead of a fixed epoch count: ultralytics re-sets the epochs
    # (and the lr schedule with them) from the mean epoch time after every epoch; the run's own
    # results.csv gives the count it came to, and --epochs with that count replays the schedule
    time_h: float | None = None
    # ultralytics' deterministic mode (deterministic cuDNN and torch algorithms): replays a CPU
    # run exactly; on a GPU it costs speed and atomics vary anyway
    deterministic: bool = True
    # "flyonce": the augmentation of stages 1-10 (ultralytics' colour defaults, flips both ways,
    # gentle zoom); "styles": for a model that must work on scenes drawn by someone else (issue
    # 21, leave-one-style-out): every hue, strong saturation and brightness swings, any rotation
    # a nadir camera can have, and some mixup, so colour and one renderer's edges stop being cues
    augment: str = "flyonce"


# ultralytics' train() arguments of each augmentation preset (see ``TrainSettings.augment``)
AUGMENT = {
    "flyonce": {"flipud": 0.5, "fliplr": 0.5, "scale": 0.3},
    "styles": {"flipud": 0.5, "fliplr": 0.5, "scale": 0.4, "hsv_h": 0.5, "hsv_s": 0.8,
               "hsv_v": 0.5, "degrees": 30.0, "mixup": 0.1},
}


def train(data_yaml: Path | str, out_dir: Path | str, settings: TrainSettings = TrainSettings(),
          callbacks: dict | None = None) -> dict:
    """Train on ``data_yaml`` (from scratch, or from ``settings.init_weights``); return the run's
    figures and its best weights' path. ``callbacks`` maps ultralytics event names to functions.

    Nothing is downloaded: the architecture comes from ultralytics' bundled YAML, AMP checks
    (which fetch a model) are off, plots (which fetch a font) are off, the hub is offline.
    """
    if settings.precision not in ("fp32", "bf16"):
        raise TrainingError(f"precision {settings.precision!r} is not one of fp32, bf16")
    if settings.augment not in AUGMENT:
        raise TrainingError(f"augment {settings.augment!r} is not one of {', '.join(AUGMENT)}")
    bf16 = settings.precision == "bf16"
    data_yaml = Path(data_yaml)
    if not data_yaml.is_file():
        raise TrainingError(f"no dataset at {data_yaml}: render one first with "
                            "`flyonce dataset OUT_DIR` (simulators.camera.cli:dataset)")
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics import YOLO

    if settings.init_weights is not None and not Path(settings.init_weights).is_file():
        raise TrainingError(f"no weights at {settings.init_weights} to start from: give a .pt "
                            "file (e.g. detection/weights/flyonce-yolo.pt)")
    model = YOLO(settings.init_weights or settings.architecture)
    model.add_callback("on_pretrain_routine_start", _threads(settings.threads))
    if settings.stop_after is not None:
        model.add_callback("on_fit_epoch_end", _stop_after(settings.stop_after))
    # ultralytics runs amp="bf16" itself on a GPU only: a CPU run needs its autocast lent
    # (_cpu_bf16); both get channels-last and the fp32 loss (_bf16_model)
    cpu_bf16 = bf16 and settings.device == "cpu"
    if cpu_bf16 and not cpu_has_bf16():
        warnings.warn("this CPU has no bfloat16 instructions (avx512_bf16 or amx_bf16 in "
                      "/proc/cpuinfo): bf16 is emulated, about 8x slower than fp32 (measured on "
                      "an AMD EPYC without them); train with --precision fp32", stacklevel=2)
    if bf16:
        model.add_callback("on_train_start", _bf16_model)
    for event, fn in (callbacks or {}).items():
        model.add_callback(event, fn)
    out_dir = Path(out_dir).resolve()
    with _cpu_bf16() if cpu_bf16 else contextlib.nullcontext():
        results = model.train(
            data=str(data_yaml), epochs=settings.epochs, imgsz=settings.imgsz,
            batch=settings.batch, seed=settings.seed, deterministic=settings.deterministic,
            device=settings.device, time=settings.time_h,
            workers=settings.workers, pretrained=settings.init_weights is not None,
            amp="bf16" if bf16 else False, plots=False,
            project=str(out_dir), name="run", exist_ok=True, patience=settings.patience,
            close_mosaic=settings.close_mosaic, nbs=settings.nbs, optimizer=settings.optimizer,
            lr0=settings.lr0,
            warmup_epochs=settings.warmup_epochs, warmup_bias_lr=settings.warmup_bias_lr,
            # aerial views have no up: flip both ways; objects are a few pixels wide, so zoom
            # gently
            **AUGMENT[settings.augment], verbose=False,
        )
    best = out_dir / "run" / "weights" / "best.pt"
    figures = {k: float(v) for k, v in getattr(results, "results_dict", {}).items()}
    out = {"best": str(best), "figures": figures, "settings": asdict(settings)}
    history = out_dir / "run" / "results.csv"
    if history.is_file():  # ultralytics' own plots are off (they fetch a font): draw ours
        out["curves"] = str(plot_curves([("this run", history)], out_dir / "run" / "curves.png"))
    return out


def read_history(results_csv: Path | str) -> list[dict[str, float]]:
    """The per-epoch rows of an ultralytics ``results.csv`` (column names stripped)."""
    import csv

    with open(results_csv, newline="", encoding="utf-8") as f:
        return [{k.strip(): float(v) for k, v in row.items() if v not in (None, "")}
                for row in csv.DictReader(f)]


def plot_curves(runs: list[tuple[str, Path | str]], out_png: Path | str) -> Path:
    """Validation mAP50 and mAP50-95 per epoch of one or more runs, drawn one after another
    (stages of one model: the x axis counts epochs over all of them); returns the PNG's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not runs:
        raise TrainingError("no training runs to plot: give at least one results.csv")
    fig, ax = plt.subplots(figsize=(7.5, 3.6), dpi=110)
    start = 0
    for i, (label, path) in enumerate(runs):
        if not Path(path).is_file():
            raise TrainingError(f"no training history at {path}: give a run's results.csv")
        rows = read_history(path)
        x = [start + r["epoch"] for r in rows]
        color = f"C{i}"
        ax.plot(x, [r["metrics/mAP50(B)"] for r in rows], color=color, label=f"{label}: mAP50")
        ax.plot(x, [r["metrics/mAP50-95(B)"] for r in rows], color=color, linestyle="--",
                label=f"{label}: mAP50-95")
        if start:
            ax.axvline(start + 0.5, color="grey", linewidth=0.8)
        start = int(x[-1]) if x else start
    ax.set_xlabel("epoch (all stages plotted)")
    ax.set_ylabel("validation mAP")
    ax.set_ylim(0, max(0.5, ax.get_ylim()[1]))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax.set_title("Detector training: validation mAP per epoch")
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png


def cpu_has_bf16(cpuinfo: Path | str = "/proc/cpuinfo") -> bool:
    """Whether the CPU runs bfloat16 natively (AVX-512 BF16 or AMX); True where it cannot be told."""
    try:
        flags = Path(cpuinfo).read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return True  # not Linux: do not warn on a guess
    return "avx512_bf16" in flags or "amx_bf16" in flags


@contextlib.contextmanager
def _cpu_bf16() -> Iterator[None]:
    """Let ultralytics' trainer run its forward pass and loss under CPU bfloat16 autocast.

    ultralytics (8.4) accepts ``amp="bf16"`` but its ``autocast`` helper refuses bf16 off CUDA,
    so the trainer module's helper is swapped, for the duration of one run, for one that gives
    ``torch.amp.autocast("cpu", dtype=torch.bfloat16)``. Its GradScaler stays off for bf16 (the
    exponent range is fp32's) and its validator runs fp32 on a CPU either way.
    """
    import torch
    from ultralytics.engine import trainer as trainer_module

    original = trainer_module.autocast

    def autocast(enabled, device: str = "cuda"):
        if device == "cpu" and enabled is torch.bfloat16:
            return torch.amp.autocast("cpu", dtype=torch.bfloat16)
        return original(enabled, device=device)

    trainer_module.autocast = autocast
    try:
        yield
    finally:
        trainer_module.autocast = original


def _bf16_model(trainer) -> None:
    """Set the training model up for the bf16 forward pass: channels-last, fp32 loss."""
    import torch

    model = trainer.model
    # oneDNN's bf16 convolutions want NHWC; ultralytics applies channels_last on CUDA only. The
    # parameters are converted in place, so the optimizer keeps them; checkpoints are saved NCHW.
    model.to(memory_format=torch.channels_last)
    # The loss in fp32 from the bf16 network's outputs, on a CPU and a GPU alike. Left under
    # autocast, ultralytics' loss rounds its class targets to bf16 and moves the class term by
    # 4-5 % on a rendered batch; cast first, it moves by at most 1 % and the other terms by a few
    # tenths (tests/detection/test_train.py). The EMA copy and the checkpoints never hold this
    # wrapper: the EMA was copied before on_train_start, and checkpoints are made from the EMA.
    model.criterion = _Fp32Loss(getattr(model, "criterion", None) or model.init_criterion(),
                                trainer.device.type)


class _Fp32Loss:
    """ultralytics' detection loss, computed outside autocast on fp32 copies of the outputs."""

    def __init__(self, loss, device_type: str = "cpu") -> None:
        self.loss = loss
        self.device_type = device_type

    def __call__(self, preds, batch):
        import torch

        with torch.autocast(self.device_type, enabled=False):
            return self.loss(_fp32(preds), batch)

    def __getattr__(self, name: str):
        if name in ("loss", "device_type"):  # not yet set (copy and pickle skip __init__)
            raise AttributeError(name)
        return getattr(self.loss, name)


def _fp32(preds):
    import torch

    if torch.is_tensor(preds):
        return preds.float() if preds.is_floating_point() else preds
    if isinstance(preds, dict):
        return {k: _fp32(v) for k, v in preds.items()}
    if isinstance(preds, (list, tuple)):
        return type(preds)(_fp32(v) for v in preds)
    return preds


def _threads(n: int):
    # ultralytics' select_device sets torch to min(8, cores - 1) threads on a CPU: one thread on
    # this 2-core machine, whatever was asked. Set it back once the
    # trainer has picked its device, before the first batch.
    def restore(_trainer) -> None:
        import torch

        torch.set_num_threads(max(1, n))
    return restore


def _stop_after(epochs: int):
    def stop(trainer) -> None:
        if trainer.epoch + 1 >= epochs:
            trainer.stop = True
    return stop


def ship(best_pt: Path | str, weights_dir: Path | str = WEIGHTS_DIR,
         imgsz: int | None = None) -> dict:
    """Copy trained weights into the package as flyonce-yolo.pt and export flyonce-yolo.onnx.

    ONNX Runtime runs at the export's fixed shape, so it is exported at the shape a 1280x960
    frame takes at ``imgsz`` (default: the pipeline's ``INFER_IMGSZ``), e.g. 960x1280 at 1280.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics import YOLO

    from detection.model import INFER_IMGSZ, letterbox_shape

    weights_dir = Path(weights_dir)
    weights_dir.mkdir(parents=True, exist_ok=True)
    pt = weights_dir / "flyonce-yolo.pt"
    shutil.copyfile(best_pt, pt)
    shape = list(letterbox_shape(imgsz or INFER_IMGSZ))
    onnx_tmp = YOLO(str(pt)).export(format="onnx", imgsz=shape, dynamic=False, simplify=False,
                                    opset=17)
    onnx = weights_dir / "flyonce-yolo.onnx"
    if Path(onnx_tmp).resolve() != onnx.resolve():
        shutil.move(onnx_tmp, onnx)
    return {"pt": str(pt), "onnx": str(onnx)}
