"""Command-line entry points for the lead to register: ``flyonce detect`` and ``flyonce train``.

Imports stay light here; the model and OpenCV load inside the functions.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from detection.candidate import MIN_MEAN_CONFIDENCE
from detection.publish import LivePoster, post_candidates, post_report  # noqa: F401 (API)


class Tiling(str, Enum):
    """``flyonce detect --tiling`` (``detection.tiles.TILING_MODES``)."""

    auto = "auto"
    on = "on"
    off = "off"


def detect(
    source: Annotated[str, typer.Argument(help="video file, RTSP/HTTP URL, or folder of images")],
    telemetry: Annotated[str | None, typer.Option(
        help="pose per frame: DJI .SRT sidecar, .csv, MAVLink .tlog, or live MAVLink as "
             "mavlink:URL (e.g. mavlink:tcp:127.0.0.1:5760, mavlink:udpin:0.0.0.0:14550); "
             "default: SOURCE's .SRT if present")] = None,
    weights: Annotated[Path | None, typer.Option(
        help=".pt (PyTorch) or .onnx (ONNX Runtime); default: the current model of "
             "--models-dir, else the shipped one")] = None,
    models_dir: Annotated[Path | None, typer.Option(
        envvar="FLYONCE_MODELS_DIR",
        help="the models folder `flyonce model promote` keeps (models.json): its current "
             "weights are used when --weights is not given")] = None,
    api: Annotated[str | None, typer.Option(help="service URL; POST candidates there")] = None,
    token: Annotated[str | None, typer.Option(envvar="FLYONCE_API_TOKEN",
                                                 help="bearer token for --api")] = None,
    drone_id: Annotated[str, typer.Option(help="drone that flew the clip")] = "drone-1",
    rate_hz: Annotated[float, typer.Option(help="frames per second of clip to analyse")] = 2.0,
    conf: Annotated[float, typer.Option(help="minimum detection confidence")] = 0.25,
    imgsz: Annotated[int | None, typer.Option(
        help="PyTorch input size, long side (default 1280: a 1280x960 frame as it is); ONNX "
             "weights run at the shape they were exported at")] = None,
    min_sightings: Annotated[int, typer.Option(help="sightings before a candidate")] = 2,
    min_mean_conf: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="a candidate's sightings must average this confidence (0: off; "
                               "the default is set on the rendered patrols, see the model card)")
    ] = MIN_MEAN_CONFIDENCE,
    origin: Annotated[str | None, typer.Option(
        help="LAT,LON of the local frame (default: the first pose)")] = None,
    start: Annotated[str | None, typer.Option(
        help="ISO 8601 time of the first frame: for telemetry without a clock, and to place "
             "a .tlog or a live mavlink: feed on the clip")] = None,
    folder_fps: Annotated[float, typer.Option(help="frame rate of a folder of images")] = 1.0,
    batch: Annotated[int, typer.Option(
        min=1, help="frames per model call (1 is fastest on a CPU; more on a GPU)")] = 1,
    tz: Annotated[str | None, typer.Option(
        help="time zone of a DJI .SRT's clock (DJI writes local time without a zone); default "
             "FLYONCE_LOCAL_TZ, else Asia/Shanghai")] = None,
    tiling: Annotated[Tiling, typer.Option(
        help="cut frames into 2x2 overlapping tiles, each run enlarged, for small objects from "
             "high up: auto when the pose's ground sampling distance makes a 1.5 m stall under "
             "12 px at the model's input (above 111 m with an 84 deg 1280x960 camera, nadir; "
             "lower, enlarging costs recall and precision); costs about 4 frames' inference "
             "or more, see the model card")] = Tiling.auto,
    retries: Annotated[int, typer.Option(
        min=1, help="tries per candidate POST when the service is unreachable or busy "
                    "(the ingest is idempotent: a retry never makes a second event)")] = 6,
    retry_backoff_s: Annotated[float, typer.Option(
        min=0.0, help="wait before the second try, doubled for each further one")] = 0.5,
    live: Annotated[bool | None, typer.Option(
        "--live/--no-live",
        help="with --api, post each candidate as soon as it qualifies instead of once the "
             "source ends; default: live for a stream URL (SOURCE with ://) or live MAVLink "
             "telemetry, not for a file or folder")] = None,
    post_every_s: Annotated[float, typer.Option(
        min=0.0, help="live: send the candidates that qualified at most this often, in one "
                      "batch (wall-clock seconds)")] = 1.0,
) -> None:
    """Detect street stalls and mobile fuel sales in drone video; print or post candidates."""
    from detection.errors import DetectionError, PublishError
    from detection.model import DEFAULT_WEIGHTS
    from detection.versions import ModelRegistry

    token = token or os.environ.get("FLYONCE_API_TOKEN")

    refused: list[str] = []

    def echo_status(c, status: int) -> None:
        if status == 422:
            refused.append(c.source_event_id)
        typer.echo(json.dumps({"source_event_id": c.source_event_id, "status": status}))

    poster = None
    if api and (live if live is not None else is_live(source, telemetry)):
        poster = LivePoster(api, token, every_s=post_every_s, retries=retries,
                            backoff_s=retry_backoff_s, on_posted=echo_status)
    try:
        if weights is None and models_dir is not None:
            weights = ModelRegistry(models_dir, DEFAULT_WEIGHTS).current_weights()
        # live: posted as they qualify; when the stream ends, fails or is stopped (Ctrl-C,
        # SIGTERM), what is still queued is sent before the command exits
        with poster or nullcontext(), _sigterm_as_exit() if poster else nullcontext():
            result = run_detect(source, telemetry=telemetry, weights=weights, drone_id=drone_id,
                                rate_hz=rate_hz, conf=conf, imgsz=imgsz,
                                min_sightings=min_sightings, min_mean_conf=min_mean_conf,
                                origin=origin, start=start, folder_fps=folder_fps, batch=batch,
                                tz=tz, tiling=tiling.value, on_progress=progress_printer(),
                                on_candidate=poster.put if poster else None)
    except PublishError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3) from exc
    except DetectionError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    candidates, stats = result
    if api:
        try:
            if poster is None:
                for c, status in post_candidates(api, token, candidates, retries=retries,
                                                 backoff_s=retry_backoff_s):
                    echo_status(c, status)
            post_report(api, token, f"detector:{drone_id}", stats)
        except DetectionError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(3) from exc
    else:
        for c in candidates:
            typer.echo(json.dumps(c.to_json()))
    typer.echo(json.dumps({"stats": stats}), err=True)
    if refused:
        # the others landed; these would be refused again as they are
        typer.echo(f"error: the service refused {len(refused)} candidate(s) (status 422 "
                   f"above; the warnings give its reasons): {', '.join(refused[:10])}", err=True)
        raise typer.Exit(3)


def is_live(source, telemetry=None) -> bool:
    """Whether ``flyonce detect --api`` posts as it goes by default: for a stream URL (rtsp://,
    rtmp://, udp://, srt://, http(s)://: any SOURCE with ://), which may never end, or a live
    MAVLink pose feed (``mavlink:``); a file or folder posts once it has been read, its
    candidates as the whole clip refined them."""
    from detection.mavlink_pose import URL_PREFIX

    return "://" in str(source) or str(telemetry or "").startswith(URL_PREFIX)


@contextmanager
def _sigterm_as_exit():
    """SIGTERM (``systemctl stop``, ``docker stop``) raises SystemExit in the main thread, so
    ``finally`` blocks run (the last candidates are posted) instead of the process dying."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_detect(source, *, telemetry=None, weights=None, drone_id="drone-1", rate_hz=2.0,
               conf=0.25, imgsz=None, min_sightings=2, min_mean_conf=MIN_MEAN_CONFIDENCE,
               origin=None, start=None,
               folder_fps=1.0, detector=None, on_skip=None, batch=1, tz=None, on_progress=None,
               tiling="auto", on_candidate=None):
    """(candidates, stats dict) for one clip; the body of ``flyonce detect`` without printing.

    ``tz`` names the zone of a .SRT's clock (default the city's); ``on_progress(t_s, total_s)``
    is called as frames are read (``total_s`` from the telemetry, None for a live feed);
    ``tiling`` is the ``Pipeline``'s (auto: tiles by the pose's ground sampling distance);
    ``on_candidate(candidate)`` gets each candidate once, as soon as it qualifies, while the
    source is still read (``Pipeline.run``)."""
    from detection.errors import TelemetryError
    from detection.mavlink_pose import URL_PREFIX, MavlinkPoseFeed
    from detection.telemetry import read_telemetry
    from geofence import GeofenceError, local_tz

    if telemetry is None and "://" not in str(source):
        for suffix in (".SRT", ".srt", ".csv"):
            guess = Path(str(source)).with_suffix(suffix)
            if Path(str(source)).is_file() and guess.is_file():
                telemetry = guess
                break
    if telemetry is None:
        raise TelemetryError(f"no telemetry for {source}: pass --telemetry FILE (.SRT or .csv) "
                             "or --telemetry mavlink:URL")
    start_time = None
    if start:
        try:
            start_time = datetime.fromisoformat(start)
        except ValueError as exc:
            raise TelemetryError(f"--start must be an ISO 8601 time such as "
                                 f"2026-11-25T08:00:00+00:00, got {start!r}") from exc
        if start_time.tzinfo is None:
            start_time = start_time.replace(tzinfo=UTC)
    feed = None
    if str(telemetry).startswith(URL_PREFIX):
        # live, on the wall clock: frame t_s = 0 is the moment the source opens (in _run)
        poses = feed = MavlinkPoseFeed(str(telemetry)).open()
    else:
        try:
            zone = local_tz(tz)
        except GeofenceError as exc:
            raise TelemetryError(str(exc)) from exc
        poses = read_telemetry(telemetry, start=start_time, tz=zone)
        if poses.skipped:
            print(f"warning: {poses.skipped} telemetry records could not be parsed and were "
                  "skipped", file=sys.stderr)
    try:
        return _run(source, poses, feed, weights=weights, drone_id=drone_id, rate_hz=rate_hz,
                    conf=conf, imgsz=imgsz, min_sightings=min_sightings,
                    min_mean_conf=min_mean_conf, origin=origin,
                    start_time=start_time, folder_fps=folder_fps, detector=detector,
                    on_skip=on_skip, batch=batch, on_progress=on_progress, tiling=tiling,
                    on_candidate=on_candidate)
    finally:
        if feed is not None:
            feed.close()


def _run(source, poses, feed, *, weights, drone_id, rate_hz, conf, imgsz, min_sightings,
         min_mean_conf, origin, start_time, folder_fps, detector, on_skip, batch,
         on_progress=None, tiling="auto", on_candidate=None):
    from detection.errors import TelemetryError
    from detection.model import INFER_IMGSZ, Detector
    from detection.pipeline import Pipeline, Sampler
    from detection.sources import open_source
    from geofence.frame import LocalFrame

    if origin:
        try:
            lat, lon = (float(v) for v in origin.split(","))
        except ValueError as exc:
            raise TelemetryError(f"--origin must be LAT,LON, got {origin!r}") from exc
    else:
        lat, lon = poses.samples[0].pose.lat, poses.samples[0].pose.lon
    # the source first: a bad video is refused before a model is loaded for nothing
    frames = open_source(source, folder_fps=folder_fps, wanted=Sampler(rate_hz))
    detector = detector or Detector(weights, conf=conf, imgsz=imgsz or INFER_IMGSZ)
    detector.reset_tracker()
    pipe = Pipeline(detector, LocalFrame(lat, lon), source=f"detector:{drone_id}",
                    drone_id=drone_id, start_time=start_time, min_sightings=min_sightings,
                    min_mean_confidence=min_mean_conf, batch=batch, tiling=tiling)
    if feed is not None:
        feed.start = start_time or feed.now()
    if on_progress is not None:
        total_s = None if feed is not None else poses.samples[-1].t_s
        frames = _reporting(frames, on_progress, total_s)
    candidates = pipe.run(frames, poses, on_skip=on_skip, on_candidate=on_candidate)
    return candidates, pipe.stats.to_json()


def _reporting(frames, on_progress, total_s):
    """``frames``, calling ``on_progress(t_s, total_s)`` for each as it is read."""
    for frame in frames:
        on_progress(frame.t_s, total_s)
        yield frame


def progress_printer(every_wall_s: float = 5.0, out=None):
    """An ``on_progress`` that writes a line to stderr at most every ``every_wall_s``: how far
    into the clip the run is (a long clip takes minutes on a CPU), plain lines a log keeps."""
    import time

    out = out or sys.stderr
    last = [time.monotonic()]
    started = last[0]

    def report(t_s: float, total_s: float | None) -> None:
        now = time.monotonic()
        if now - last[0] < every_wall_s:
            return
        last[0] = now
        share = f" of {total_s:.0f} s ({100 * min(t_s / total_s, 1):.0f} %)" if total_s else ""
        print(f"detect: {t_s:.0f} s of the clip read{share}, {now - started:.0f} s elapsed",
              file=out, flush=True)

    return report


def train(
    data: Annotated[Path, typer.Argument(help="data.yaml of a YOLO dataset (flyonce dataset)")],
    out: Annotated[Path, typer.Option(help="folder for the run")] = Path("var/runs"),
    epochs: Annotated[int, typer.Option()] = 15,
    imgsz: Annotated[int, typer.Option()] = 320,
    batch: Annotated[int, typer.Option()] = 16,
    seed: Annotated[int, typer.Option()] = 0,
    threads: Annotated[int, typer.Option(help="torch CPU threads")] = 2,
    device: Annotated[str, typer.Option(help="cpu, or a CUDA index such as 0")] = "cpu",
    init_weights: Annotated[Path | None, typer.Option(
        help="fine-tune these .pt weights instead of training from scratch")] = None,
    nbs: Annotated[int, typer.Option(help="images per optimizer step (gradients accumulate)")] = 64,
    optimizer: Annotated[str, typer.Option(help="auto (ultralytics picks), AdamW, SGD, ...")
                         ] = "auto",
    lr0: Annotated[float, typer.Option(help="initial lr when --optimizer is named")] = 0.01,
    warmup_epochs: Annotated[float, typer.Option(help="lr warm-up epochs")] = 3.0,
    warmup_bias_lr: Annotated[float, typer.Option(
        help="bias lr at the start of warm-up (0 when fine-tuning)")] = 0.1,
    stop_after: Annotated[int | None, typer.Option(
        help="stop after this epoch; the lr schedule still spans --epochs")] = None,
    close_mosaic: Annotated[int, typer.Option(
        help="epochs at the end trained without mosaic (at most epochs - 1)")] = 3,
    precision: Annotated[str, typer.Option(
        help="fp32, or bf16 (CPU bfloat16 autocast, channels-last: about 2x faster on a CPU "
             "with AVX-512 BF16, about 8x slower on one without)")] = "fp32",
    workers: Annotated[int, typer.Option(
        help="data-loader processes (0 loads in the training process: best on 2 cores)")] = 0,
    time_h: Annotated[float | None, typer.Option(
        help="train for this many hours; ultralytics sets the epochs from the epoch time")] = None,
    deterministic: Annotated[bool, typer.Option(
        help="ultralytics' deterministic mode (exact replays on a CPU; slower on a GPU)")] = True,
    ship: Annotated[bool, typer.Option(help="copy the best weights into detection/weights "
                                            "and export ONNX")] = False,
    augment: Annotated[str, typer.Option(
        help="flyonce (the shipped stages' augmentation) or styles (every hue, rotation, "
             "mixup: for scenes drawn by others, issue 21)")] = "flyonce",
) -> None:
    """Train the detector (from scratch, no download, or from --init-weights); print figures.

    The defaults are stage 1 of the shipped model; the model card gives stage 2's command.
    """
    from detection import train as training
    from detection.errors import DetectionError

    settings = training.TrainSettings(epochs=epochs, imgsz=imgsz, batch=batch, seed=seed,
                                      threads=threads, device=device,
                                      close_mosaic=min(close_mosaic, max(0, epochs - 1)),
                                      init_weights=str(init_weights) if init_weights else None,
                                      nbs=nbs, optimizer=optimizer, lr0=lr0,
                                      warmup_epochs=warmup_epochs,
                                      warmup_bias_lr=warmup_bias_lr,
                                      stop_after=stop_after, precision=precision,
                                      workers=workers, time_h=time_h,
                                      deterministic=deterministic, augment=augment)
    try:
        result = training.train(data, out, settings)
        if ship:
            result["shipped"] = training.ship(result["best"])
    except DetectionError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result))


def mine(
    data: Annotated[Path, typer.Argument(help="data.yaml of a rendered dataset (flyonce dataset)")],
    out: Annotated[Path, typer.Option(help="folder for the mined train list and its data.yaml")
               ] = Path("var/mined"),
    weights: Annotated[Path | None, typer.Option(
        help="the weights to score the crops with (default: the shipped .pt)")] = None,
    easy_per_hard: Annotated[float, typer.Option(
        help="crops the weights get right to keep for each one they get wrong")] = 1.0,
    imgsz: Annotated[int, typer.Option(help="inference size: the crops' own (320)")] = 320,
    seed: Annotated[int, typer.Option(help="draws the easy crops kept")] = 0,
) -> None:
    """Keep the train crops the weights get wrong (a false report or a miss), and a share of
    the rest, as a data.yaml to fine-tune on (`flyonce train OUT/data.yaml ...`)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from detection import mine as mining
    from detection.errors import DetectionError

    with Progress(TextColumn("[bold]scoring crops"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task("mine", total=None)
        try:
            summary = mining.mine(data, weights, out,
                                  easy_per_hard=easy_per_hard, imgsz=imgsz, seed=seed,
                                  progress=lambda done, total: bar.update(
                                      task, completed=done, total=total))
        except DetectionError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(json.dumps(summary))


def train_curves(
    runs: Annotated[list[str], typer.Argument(
        help="LABEL=PATH of each run's results.csv, in training order (e.g. "
             "\"stage 3=var/runs3/run/results.csv\")")],
    out: Annotated[Path, typer.Option(help="the PNG to write")] = Path("var/curves.png"),
) -> None:
    """Plot validation mAP per epoch over one or more training runs (stages in order)."""
    from detection import train as training
    from detection.errors import DetectionError

    pairs = []
    for item in runs:
        label, sep, path = item.partition("=")
        if not sep or not path:
            typer.echo(f"error: {item!r} is not LABEL=PATH (e.g. \"stage 3=var/runs3/run/"
                       "results.csv\")", err=True)
            raise typer.Exit(2)
        pairs.append((label, Path(path)))
    try:
        typer.echo(training.plot_curves(pairs, out))
    except DetectionError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
