"""`flyonce demo`: run the simulated closed loop, print the scorecard, write the report.

Imports stay light here; the simulators, the model and the service load inside the function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    seed: Annotated[int, typer.Option(help="Scenario seed: town layout, incidents, people.")] = 7,
    drones: Annotated[int, typer.Option(help="Simulated drones (at the sample town's 3 docks).")] = 6,
    duration: Annotated[float, typer.Option(help="Mission minutes of patrolling.")] = 30.0,
    speedup: Annotated[float, typer.Option(help="Mission seconds per wall second.")] = 10.0,
    patrols: Annotated[int | None, typer.Option(
        help="Drones on patrol at once (the rest stand by at the docks); default half.")] = None,
    incidents: Annotated[int | None, typer.Option(
        help="Violations placed over the scenario; default one per drone per 6 minutes.")] = None,
    operator_accuracy: Annotated[float, typer.Option(
        help="Share of the simulated operator's reviews that are right.")] = 0.95,
    reaction_s: Annotated[float, typer.Option(
        help="Mean mission seconds the simulated operator takes to review an alert.")] = 20.0,
    manual_review: Annotated[bool, typer.Option(
        help="No simulated operator: review the alerts yourself in the web console.")] = False,
    keep_serving: Annotated[bool, typer.Option(
        help="Leave the web console running on the finished scenario (Ctrl-C ends it).")] = False,
    port: Annotated[int, typer.Option(help="TCP port for the service.")] = 8000,
    data_dir: Annotated[Path, typer.Option(
        help="Where the demo keeps its database, media and report (emptied first).")] = Path("var/demo"),
    example_only: Annotated[bool, typer.Option(
        help="Only seed an example control room and serve it (no simulation).")] = False,
    dji_docks: Annotated[int, typer.Option(
        help="Of --drones, how many are DJI docks speaking the Cloud API over MQTT (they answer "
             "events and warn by Chinese TTS; the MAVLink copters patrol).")] = 0,
    mqtt: Annotated[str, typer.Option(help="The DJI docks' MQTT broker, HOST:PORT.")] = "127.0.0.1:1883",
    zoom_verify: Annotated[bool, typer.Option(
        help="Check a patrol candidate with a 2x zoom look before posting it (--no-zoom-verify: "
             "post every candidate as it comes).")] = True,
    video_fps: Annotated[float, typer.Option(
        help="Serve each drone's camera as live MJPEG video at this many frames a second and show "
             "it in the console (0: off; docs/video.md).", min=0, max=30)] = 0.0,
) -> None:
    """Fly the whole closed loop on this machine and score it against ground truth."""
    if example_only:
        _example(port, data_dir)
        return
    import logging

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from api.demo import Demo, DemoConfig, DemoError
    from api.demo.scoring import scorecard_rows

    logging.basicConfig(level=logging.ERROR)
    console = Console()
    try:
        config = DemoConfig(seed=seed, drones=drones, duration_min=duration, speedup=speedup,
                            patrols=patrols, incidents=incidents,
                            operator_accuracy=operator_accuracy, reaction_s=reaction_s,
                            manual_review=manual_review, data_dir=data_dir, port=port,
                            zoom_verify=zoom_verify, dji_docks=dji_docks, mqtt=mqtt,
                            video_fps=video_fps)
        config.check()
    except DemoError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    fleet = f"{drones} drones" + (f" ({dji_docks} of them DJI docks)" if dji_docks else "")
    console.print(f"flyonce demo: seed {seed}, {fleet}, {duration:g} mission minutes at "
                  f"{speedup:g}x; staging the town, the fleet and the service …")
    if manual_review:
        console.print(f"  review the alerts yourself: http://127.0.0.1:{port}/ (operator / "
                      "flyonce-demo)")
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed:.0f}/{task.total:.0f} mission s"),
                  TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=console,
                  transient=False) as bar:
        task = bar.add_task("mission", total=duration * 60, info="")

        def progress(now_s: float, total_s: float, c: dict) -> None:
            info = (f"frames {c['frames']} · events {c['events']} · confirmed {c['confirmed']} · "
                    f"on scene {c['reached']} · resolved {c['resolved']}")
            bar.update(task, completed=now_s, info=info,
                       description="closing open events" if c["winding"] else "mission")

        run = Demo(config, on_progress=progress)
        try:
            result = run.run()
        except DemoError as exc:
            run.close()
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(3) from exc
        except BaseException:
            run.close()
            raise
    table = Table(title="flyonce demo scorecard", show_header=False)
    table.add_column()
    table.add_column(overflow="fold")  # a URL is printed whole, folded, never cut short
    for name, value in scorecard_rows(result.scorecard, result.timings):
        table.add_row(name, value)
    console.print(table)
    console.print(f"report: {result.report_path}")
    if keep_serving:
        console.print(f"web console on the finished scenario: {result.base_url}/ "
                      "(operator / flyonce-demo); Ctrl-C stops it")
        run.serve_forever()
    run.close()


def _example(port: int, data_dir: Path) -> None:
    """The example control room: accounts, drones, teams and four events, then the service."""
    import os

    os.environ.setdefault("FLYONCE_DATA_DIR", str(data_dir))
    from sqlmodel import Session

    from api.cli import serve
    from api.core import db
    from api.core.clock import SystemClock
    from api.core.settings import get_settings
    from api.core.zones import ZoneIndex
    from api.demo.seed import DEMO_PASSWORD, seed

    settings = get_settings()
    engine = db.create_db_engine(settings.resolved_database_url)
    db.upgrade(engine)
    zones = ZoneIndex.load(settings.zones_file, default_target_s=settings.default_target_s)
    with Session(engine) as session:
        zones.sync(session)
        report = seed(session, zones, SystemClock())
    engine.dispose()
    base = f"http://127.0.0.1:{port}"
    typer.echo(
        f"flyonce demo: {report.events} example events, {report.drones} drones, {report.teams} teams\n"
        f"  data:     {settings.data_dir.resolve()}\n"
        f"  console:  {base}/ui/\n"
        f"  API docs: {base}/docs\n"
        f"  accounts: {', '.join(report.users)} (password '{DEMO_PASSWORD}')\n"
        "  Ctrl-C stops it."
    )
    serve(port=port)
