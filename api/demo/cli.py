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
    speedup: Annotated[float, typer.Option(
        help="Mission seconds per wall second (slowed, and said, when this machine's cameras "
             "could not score 90 % of the patrol frames at it; see --keep-up).")] = 10.0,
    keep_up: Annotated[bool, typer.Option(
        help="Measure a patrol frame's cost first and slow the clock below --speedup if the "
             "cameras would fall behind (--no-keep-up: run at --speedup, frames dropped).")] = True,
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
        help="Only serve an example control room: --data-dir emptied, four events, simulated "
             "copters linked at the three docks (real time), no scoring; a taken --port is "
             "swapped for a free one.")] = False,
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
    port, moved = port_to_use(port)
    if moved:
        console.print(f"[bold yellow]note:[/] {moved}")
    try:
        config = DemoConfig(seed=seed, drones=drones, duration_min=duration, speedup=speedup,
                            patrols=patrols, incidents=incidents,
                            operator_accuracy=operator_accuracy, reaction_s=reaction_s,
                            manual_review=manual_review, data_dir=data_dir, port=port,
                            zoom_verify=zoom_verify, dji_docks=dji_docks, mqtt=mqtt,
                            keep_up=keep_up, video_fps=video_fps)
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

        log_lines = ProgressLog(data_dir / "progress.log", echo=not console.is_terminal)

        def progress(now_s: float, total_s: float, c: dict) -> None:
            info = (f"frames {c['frames']} · events {c['events']} · confirmed {c['confirmed']} · "
                    f"on scene {c['reached']} · resolved {c['resolved']}")
            bar.update(task, completed=now_s, info=info,
                       description="closing open events" if c["winding"] else "mission")
            log_lines.progress(now_s, total_s, info, winding=c["winding"])

        def note(text: str) -> None:
            console.print(f"[bold yellow]note:[/] {text}")
            log_lines.line(f"note: {text}")

        run = Demo(config, on_progress=progress, on_note=note)
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
    log_lines.line(f"done: report {result.report_path}")
    if keep_serving:
        console.print(f"web console on the finished scenario: {result.base_url}/ "
                      "(operator / flyonce-demo); Ctrl-C stops it")
        run.serve_forever()
    run.close()


class ProgressLog:
    """Progress as plain lines: appended to ``path`` (the run's folder, made by the run), and
    echoed to stdout when it is not a terminal (rich's live bar draws nothing into a pipe or a
    file, so `flyonce demo > log` would stay empty until the end). One line per ``every_s``
    mission seconds, and one when the mission ends."""

    def __init__(self, path: Path, *, echo: bool, every_s: float = 60.0) -> None:
        import time

        self.path, self.echo, self.every_s = path, echo, every_s
        self._next_s = 0.0
        self._wound = False
        self._t0 = time.monotonic()

    def progress(self, now_s: float, total_s: float, info: str, *, winding: bool) -> None:
        if winding and not self._wound:
            self._wound = True
            self.line(f"mission over at {now_s:.0f} s; closing open events · {info}")
        elif not winding and now_s >= self._next_s:
            self._next_s = now_s + self.every_s
            self.line(f"mission {now_s:.0f}/{total_s:.0f} s · {info}")

    def line(self, text: str) -> None:
        import time

        stamped = f"[{time.monotonic() - self._t0:6.0f} s wall] {text}"
        if self.path.parent.is_dir():  # the run empties and makes its folder before it reports
            with self.path.open("a", encoding="utf-8") as out:
                out.write(stamped + "\n")
        if self.echo:
            print(stamped, flush=True)


def port_to_use(port: int, host: str = "127.0.0.1") -> tuple[int, str | None]:
    """``port`` if it can be bound on ``host``, else a free one and a sentence saying so (0: any)."""
    import errno
    import socket

    with socket.socket() as s:
        try:
            s.bind((host, port))
            return s.getsockname()[1], None
        except OSError as exc:
            why = "in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
    with socket.socket() as s:
        s.bind((host, 0))
        free = s.getsockname()[1]
    return free, f"port {port} is {why}; serving on free port {free} instead (or pass --port N)"


def _example(port: int, data_dir: Path) -> None:
    """The example control room: an emptied data folder, accounts, simulated copters at the
    sample town's docks (linked through a fleet file), teams and four events, then the service."""
    import os

    from api.demo.errors import DemoError
    from api.demo.orchestrator import fresh_data_dir

    try:
        data_dir = fresh_data_dir(data_dir)
    except DemoError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    port, moved = port_to_use(port)
    if moved:
        typer.secho(f"note: {moved}", fg=typer.colors.YELLOW, err=True)
    fleet, fleet_file = _example_fleet(data_dir)
    # This command's own folder and fleet win over a shell's leftovers: that is what it is for.
    os.environ["FLYONCE_DATA_DIR"] = str(data_dir)
    if fleet_file is not None:
        os.environ["FLYONCE_FLEET_FILE"] = str(fleet_file)
    else:
        os.environ.pop("FLYONCE_FLEET_FILE", None)
    from sqlmodel import Session

    from api.cli import serve
    from api.core import db
    from api.core.clock import SystemClock
    from api.core.settings import get_settings
    from api.core.zones import ZoneIndex
    from api.demo.seed import DEMO_PASSWORD, seed

    get_settings.cache_clear()
    settings = get_settings()
    engine = db.create_db_engine(settings.resolved_database_url)
    db.upgrade(engine)
    zones = ZoneIndex.load(settings.zones_file, default_target_s=settings.default_target_s)
    with Session(engine) as session:
        zones.sync(session)
        report = seed(session, zones, SystemClock())
    engine.dispose()
    base = f"http://127.0.0.1:{port}"
    linked = (f"{len(fleet.vehicles)} simulated copters linked ({fleet_file.name})" if fleet
              else "NONE linked: the simulated copters did not start (see above); the console "
                   "shows the drones as not connected")
    typer.echo(
        f"flyonce demo: {report.events} example events, {report.drones} drones, {report.teams} teams\n"
        f"  drones:   {linked}\n"
        f"  data:     {settings.data_dir.resolve()} (emptied first)\n"
        f"  console:  {base}/ui/\n"
        f"  API docs: {base}/docs\n"
        f"  accounts: {', '.join(report.users)} (password '{DEMO_PASSWORD}')\n"
        "  Ctrl-C stops it."
    )
    try:
        serve(port=port)
    finally:
        if fleet is not None:
            fleet.stop()


def _example_fleet(data_dir: Path):
    """Simulated copters at the sample town's docks (real time) and a fleet file naming them as
    the seed's drone-1..N; (None, None), said loudly, when they cannot start."""
    import json

    import geofence
    from simulators.clock import SimClock
    from simulators.errors import SimulatorError
    from simulators.fleet import Fleet

    docks = geofence.sample_town().docks
    try:
        fleet = Fleet.start(docks, clock=SimClock(1.0), base_tcp_port=0)
    except (SimulatorError, OSError) as exc:
        typer.secho(f"WARNING: no drones linked: the simulated copters did not start ({exc})",
                    fg=typer.colors.RED, err=True)
        return None, None
    fleet_file = data_dir / "fleet.json"
    fleet_file.write_text(json.dumps({"drones": [
        {"id": f"drone-{i + 1}", "url": v.endpoint, "dock": [d.lat, d.lon],
         "name": f"Drone {i + 1} ({d.name})"}
        for i, (d, v) in enumerate(zip(docks, fleet.vehicles, strict=True))]}, indent=1))
    return fleet, fleet_file
