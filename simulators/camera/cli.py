"""Command-line entry points for the lead to register: ``flyonce dataset`` and ``flyonce clip``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer


def dataset(
    out: Annotated[Path, typer.Argument(help="folder to write the YOLO dataset into")],
    train_frames: Annotated[int | None, typer.Option(
        help="render this many train frames town by town (2 crops each) instead of the "
             "default split's 700 over 6 towns")] = None,
    train_towns: Annotated[int, typer.Option(
        help="with --train-frames: over this many towns (101, 102, ...)")] = 6,
    first_town: Annotated[int, typer.Option(
        help="with --train-frames: the first train town (a fine-tuning run on towns no "
             "earlier run saw); the range must stay clear of val 201 and test 301-302")] = 101,
    workers: Annotated[int, typer.Option(
        help="with --train-frames (or any bazaar / dusk split): render in that many "
             "processes")] = 1,
    only: Annotated[list[str] | None, typer.Option(
        help="render only this split (repeat for more): train, val, test")] = None,
    style: Annotated[str, typer.Option(
        help="scene style: town (today's renderer), bazaar (nadir streets drawn in image "
             "space), dusk (3-D, oblique, photographed ground, dusk, rain, H.264) or varied "
             "(training only: every look random per scene); see simulators.styles")] = "town",
    val_frames: Annotated[int | None, typer.Option(
        help="bazaar, dusk and varied: val frames (2 crops each; default 60)")] = None,
    test_frames: Annotated[int | None, typer.Option(
        help="bazaar, dusk and varied: whole test frames (default 150)")] = None,
) -> None:
    """Render the train/val/test splits (different towns and seeds) in YOLO format."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from simulators.camera.dataset import DEFAULT_SPLITS, export_yolo, large_train_split
    from simulators.styles import STYLE_SPLITS, STYLES, TRAINING_STYLES, export_style_yolo

    if style not in STYLES + TRAINING_STYLES:
        raise typer.BadParameter(f"no style {style!r}; the styles are "
                                 f"{', '.join(STYLES + TRAINING_STYLES)}", param_hint="--style")
    if style != "town":
        splits: dict = dict(STYLE_SPLITS)
        for name, n in (("train", train_frames), ("val", val_frames), ("test", test_frames)):
            if n is not None:
                if n < 1:
                    raise typer.BadParameter(f"{n} frames: give at least 1",
                                             param_hint=f"--{name}-frames")
                splits[name] = replace(splits[name], images=n)
    else:
        splits = dict(DEFAULT_SPLITS)
        if train_frames is not None:
            try:
                splits["train"] = large_train_split(train_frames, train_towns, first_town)
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint="--train-frames") from exc
    splits = _only(splits, only)
    # the bar goes to stderr: stdout is the data.yaml path, for scripts
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("frames"), TimeElapsedColumn(), console=Console(stderr=True)) as bar:
        tasks = {name: bar.add_task(name, total=spec.images) for name, spec in splits.items()}

        def progress(split: str, done: int, total: int) -> None:
            bar.update(tasks[split], completed=done)

        if style == "town":
            data_yaml = export_yolo(out, splits, progress=progress, workers=workers)
        else:
            data_yaml = export_style_yolo(out, style, splits, progress=progress, workers=workers)
    typer.echo(str(data_yaml))


def clip(
    out_stem: Annotated[Path, typer.Argument(help="writes STEM.mp4, STEM.SRT, STEM.truth.json")],
    east_m: Annotated[float, typer.Option(help="patrol area centre, metres east of origin")] = 0.0,
    north_m: Annotated[float, typer.Option(help="metres north of the origin")] = 0.0,
    size_m: Annotated[float, typer.Option(help="side of the square patrol area")] = 240.0,
    alt_rel_m: Annotated[float, typer.Option()] = 60.0,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Render a patrol flight over the sample town as a DJI-style clip with its ground truth."""
    from simulators.camera.patrol import PatrolPlan, write_clip
    from simulators.camera.render import DroneCamera
    from simulators.town.sample import sample_world

    half = size_m / 2
    plan = PatrolPlan(east_m - half, north_m - half, east_m + half, north_m + half, alt_rel_m)
    paths = write_clip(DroneCamera(sample_world()), plan, out_stem, seed=seed)
    typer.echo(json.dumps({k: str(v) for k, v in paths.items()}))


def _only(splits: dict, only: list[str] | None) -> dict:
    """The splits ``--only`` names (all without it); a name that is no split is refused."""
    unknown = sorted(set(only or ()) - set(splits))
    if unknown:
        raise typer.BadParameter(f"no split named {', '.join(unknown)}; the splits are "
                                 f"{', '.join(splits)}", param_hint="--only")
    return {k: v for k, v in splits.items() if k in only} if only else splits
