"""`flyonce dataset --from-reviews`, `flyonce train --from-reviews` and `flyonce model`: the
operators' verdicts out of the database, a fine-tune on them, and promotion of the result.

``dataset`` and ``train`` are the simulator's and detection's own commands with one more
option: without it they run exactly as before. The database and the models folder are the
service's (``Settings``: FLYONCE_DATABASE_URL, FLYONCE_MEDIA_DIR, FLYONCE_MODELS_DIR).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

model_app = typer.Typer(help="Detector weights versions: list them, promote a candidate.",
                        no_args_is_help=True)


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def registry(settings=None):
    """The models folder of the settings, falling back to the shipped weights."""
    from api.core.settings import get_settings
    from detection.model import DEFAULT_WEIGHTS
    from detection.versions import ModelRegistry

    settings = settings or get_settings()
    return ModelRegistry(settings.resolved_models_dir, DEFAULT_WEIGHTS)


def reviewed_images(settings=None) -> list:
    """Every review sample in the database as a ``detection.reviews.ReviewedImage``."""
    from sqlmodel import Session

    from api.core import db
    from api.core.settings import get_settings
    from api.lifecycle import reviews
    from detection.reviews import ReviewedImage

    settings = settings or get_settings()
    engine = db.create_db_engine(settings.resolved_database_url)
    db.upgrade(engine)
    media = settings.resolved_media_dir
    with Session(engine) as session:
        return [ReviewedImage(key=f"event-{s.event_id}", image_path=media / ev.path,
                              verdict=s.verdict, type=s.type,
                              box_xyxy=tuple(json.loads(s.box_xyxy)),
                              model_version=s.model_version)
                for s, ev in reviews.samples(session)]


def _extended(original: Callable, extra: list[inspect.Parameter], run: Callable) -> Callable:
    """``original`` (a typer command) with ``extra`` options; ``run(original, **all)`` decides."""
    sig = inspect.signature(original, eval_str=True)
    names = [p.name for p in extra]

    def command(**kwargs):
        return run(original, **kwargs)

    command.__signature__ = sig.replace(parameters=[*sig.parameters.values(), *extra])
    command.__name__ = original.__name__
    command.__doc__ = original.__doc__
    command.__annotations__ = {}
    command.extra = names
    return command


def _option(name: str, annotation, default) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                             default=default)


# -- flyonce dataset --from-reviews OUT --------------------------------------------------------
def _dataset(original, *, from_reviews: bool, heldout_share: float, review_seed: int,
             crop_px: int, **kwargs) -> None:
    if not from_reviews:
        return original(**kwargs)
    from detection.errors import DetectionError
    from detection.reviews import export_reviews

    samples = reviewed_images()
    if not samples:
        _fail("no reviewed samples yet: operators' confirmations and rejections of events "
              "with a snapshot make them")
    try:
        summary = export_reviews(samples, kwargs["out"], crop_px=crop_px,
                                 heldout_share=heldout_share, seed=review_seed)
    except DetectionError as exc:
        _fail(str(exc))
    typer.echo(json.dumps(summary))


def dataset_command(original: Callable) -> Callable:
    """``flyonce dataset`` with ``--from-reviews`` and its options."""
    cmd = _extended(original, [
        _option("from_reviews", Annotated[bool, typer.Option(
            "--from-reviews", help="export the operators' verdicts from the database instead "
            "of rendering: crops around each reviewed box, rejections as background images, "
            "a seeded share held out for scoring")], False),
        _option("heldout_share", Annotated[float, typer.Option(
            min=0.0, max=0.9, help="with --from-reviews: the share of samples held out")], 0.25),
        _option("review_seed", Annotated[int, typer.Option(
            help="with --from-reviews: seeds which samples are held out")], 0),
        _option("crop_px", Annotated[int, typer.Option(
            min=64, help="with --from-reviews: side of the square cut around each box")], 320),
    ], _dataset)
    cmd.__doc__ = (original.__doc__ or "") + (
        "\n\nWith --from-reviews: export the operators' verdicts as a YOLO dataset instead.")
    return cmd


# -- flyonce train --from-reviews DIR RENDERED/data.yaml ---------------------------------------
def _train(original, *, from_reviews: Path | None, review_repeat: int, **kwargs) -> None:
    if from_reviews is None:
        return original(**kwargs)
    from detection.errors import DetectionError
    from detection.reviews import RetrainSettings, fine_tune
    from detection.versions import version_of

    reg = registry()
    try:
        init = kwargs["init_weights"] or reg.current_weights()
        settings = RetrainSettings(epochs=kwargs["epochs"], imgsz=kwargs["imgsz"],
                                   batch=kwargs["batch"], seed=kwargs["seed"],
                                   threads=kwargs["threads"], device=kwargs["device"],
                                   review_repeat=review_repeat,
                                   lr0=(kwargs["lr0"] if kwargs["optimizer"] != "auto"
                                        else RetrainSettings.lr0))
        report = fine_tune(from_reviews, kwargs["data"], init, kwargs["out"], settings,
                           parent_version=version_of(init))
    except DetectionError as exc:
        _fail(str(exc))
    typer.echo(json.dumps({k: report[k] for k in (
        "candidate", "candidate_version", "parent_version", "train_samples", "heldout_samples",
        "candidate_scores", "current_scores", "worse_on")}))


def train_command(original: Callable) -> Callable:
    """``flyonce train`` with ``--from-reviews``."""
    cmd = _extended(original, [
        _option("from_reviews", Annotated[Path | None, typer.Option(
            "--from-reviews", help="fine-tune the current weights on this export of reviewed "
            "samples (flyonce dataset --from-reviews) mixed with DATA's train split, then "
            "score the candidate against the current weights on the held-out samples")], None),
        _option("review_repeat", Annotated[int, typer.Option(
            min=1, help="with --from-reviews: times each reviewed crop appears per epoch")], 3),
    ], _train)
    cmd.__doc__ = (original.__doc__ or "") + (
        "\n\nWith --from-reviews DIR: fine-tune the current weights on the operators' "
        "verdicts; promote the result with `flyonce model promote`.")
    return cmd


# -- flyonce model ---------------------------------------------------------------------------
@model_app.command("promote")
def promote(
    candidate: Annotated[Path, typer.Argument(
        help="a run folder of `flyonce train --from-reviews`, its candidate.pt, or its "
             "review-report.json")],
    note: Annotated[str, typer.Option(help="kept with the version")] = "",
) -> None:
    """Make a fine-tuned candidate the current weights, if it is not worse on either class."""
    from sqlmodel import Session

    from api.core import db
    from api.core.clock import SystemClock
    from api.core.models import ModelVersionRow
    from api.core.settings import get_settings
    from detection.errors import DetectionError
    from detection.reviews import read_report, worse_classes
    from detection.versions import version_of

    settings = get_settings()
    reg = registry(settings)
    try:
        report = read_report(candidate)
        current = reg.current_version()
        weights = Path(report["candidate"])
        if not weights.is_file() or version_of(weights) != report["candidate_version"]:
            _fail(f"the candidate's weights {weights} are missing or changed since they were "
                  "scored; run `flyonce train --from-reviews` again")
        if report["parent_version"] != current:
            _fail(f"the candidate was scored against model {report['parent_version']}, but the "
                  f"current model is now {current}; run `flyonce train --from-reviews` again "
                  "so it is compared with the current one")
        worse = worse_classes(report["candidate_scores"], report["current_scores"])
        if worse:
            lines = [f"{t}: {report['candidate_scores'][t]['errors']} errors against the current "
                     f"model's {report['current_scores'][t]['errors']} (misses + false alarms on "
                     f"{report['current_scores'][t]['samples']} held-out reviewed samples)"
                     for t in worse]
            _fail("refused: the candidate is worse than the current model on "
                  + "; ".join(lines) + ". The current model stays.", code=3)
        now = SystemClock().now()
        figures = {"heldout": report["candidate_scores"], "parent_heldout": report["current_scores"],
                   "train_samples": report["train_samples"],
                   "heldout_samples": report["heldout_samples"]}
        entry = reg.promote(weights, now=now, figures=figures, parent=current, note=note)
    except DetectionError as exc:
        _fail(str(exc))
    engine = db.create_db_engine(settings.resolved_database_url)
    db.upgrade(engine)
    with Session(engine) as session:
        row = session.get(ModelVersionRow, entry.version) or ModelVersionRow(version=entry.version)
        row.sha256, row.parent, row.note = entry.sha256, entry.parent, note or None
        row.figures, row.promoted_at = json.dumps(figures), now
        session.add(row)
        session.commit()
    typer.echo(json.dumps({"promoted": entry.version, "parent": current,
                           "weights": str(reg.current_weights())}))


@model_app.command("list")
def list_versions() -> None:
    """Every promoted version, oldest first, and which one is current."""
    reg = registry()
    current = reg.current_version()
    for v in reg.versions():
        typer.echo(json.dumps({"version": v.version, "current": v.version == current,
                               "created_at": v.created_at, "parent": v.parent, "note": v.note}))
    if not reg.versions():
        typer.echo(json.dumps({"version": current, "current": True, "note": "shipped weights"}))
