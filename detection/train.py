"""Training the detector with ultralytics from an architecture file: no pretrained download."""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from detection.errors import TrainingError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class TrainSettings:
    """The settings that reproduce the shipped weights (defaults are the shipped run)."""

    architecture: str = "yolo11n.yaml"
    epochs: int = 15
    imgsz: int = 320  # the training crops are 320 px; the pipeline runs whole frames at 640
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


def train(data_yaml: Path | str, out_dir: Path | str, settings: TrainSettings = TrainSettings(),
          callbacks: dict | None = None) -> dict:
    """Train on ``data_yaml`` (from scratch, or from ``settings.init_weights``); return the run's
    figures and its best weights' path. ``callbacks`` maps ultralytics event names to functions.

    Nothing is downloaded: the architecture comes from ultralytics' bundled YAML, AMP checks
    (which fetch a model) are off, plots (which fetch a font) are off, the hub is offline.
    """
    data_yaml = Path(data_yaml)
    if not data_yaml.is_file():
        raise TrainingError(f"no dataset at {data_yaml}: render one first with "
                            "`flyonce dataset OUT_DIR` (simulators.camera.cli:dataset)")
    os.environ.setdefault("YOLO_OFFLINE", "1")
    import torch
    from ultralytics import YOLO

    torch.set_num_threads(max(1, settings.threads))
    if settings.init_weights is not None and not Path(settings.init_weights).is_file():
        raise TrainingError(f"no weights at {settings.init_weights} to start from: give a .pt "
                            "file (e.g. detection/weights/flyonce-yolo.pt)")
    model = YOLO(settings.init_weights or settings.architecture)
    if settings.stop_after is not None:
        model.add_callback("on_fit_epoch_end", _stop_after(settings.stop_after))
    for event, fn in (callbacks or {}).items():
        model.add_callback(event, fn)
    out_dir = Path(out_dir).resolve()
    results = model.train(
        data=str(data_yaml), epochs=settings.epochs, imgsz=settings.imgsz, batch=settings.batch,
        seed=settings.seed, deterministic=True, device=settings.device, workers=settings.workers,
        pretrained=settings.init_weights is not None, amp=False, plots=False,
        project=str(out_dir), name="run", exist_ok=True, patience=settings.patience,
        close_mosaic=settings.close_mosaic, nbs=settings.nbs, optimizer=settings.optimizer,
        lr0=settings.lr0,
        warmup_epochs=settings.warmup_epochs, warmup_bias_lr=settings.warmup_bias_lr,
        # aerial views have no up: flip both ways; objects are a few pixels wide, so zoom gently
        flipud=0.5, fliplr=0.5, scale=0.3, verbose=False,
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
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title("Detector training: validation mAP per epoch")
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png


def _stop_after(epochs: int):
    def stop(trainer) -> None:
        if trainer.epoch + 1 >= epochs:
            trainer.stop = True
    return stop


def ship(best_pt: Path | str, weights_dir: Path | str = WEIGHTS_DIR, imgsz: int = 640) -> dict:
    """Copy trained weights into the package as flyonce-yolo.pt and export flyonce-yolo.onnx."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics import YOLO

    weights_dir = Path(weights_dir)
    weights_dir.mkdir(parents=True, exist_ok=True)
    pt = weights_dir / "flyonce-yolo.pt"
    shutil.copyfile(best_pt, pt)
    onnx_tmp = YOLO(str(pt)).export(format="onnx", imgsz=imgsz, dynamic=False, simplify=False,
                                    opset=17)
    onnx = weights_dir / "flyonce-yolo.onnx"
    if Path(onnx_tmp).resolve() != onnx.resolve():
        shutil.move(onnx_tmp, onnx)
    return {"pt": str(pt), "onnx": str(onnx)}
