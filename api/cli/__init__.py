"""The `flyonce` command line: an entry point, like api.main, so it may wire any room together
and import the simulators and the other packages' own subcommands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="flyonce: drone patrol and dispatch for a city control room.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


# No per-message deflate on the live WebSocket: each client has its own compressor, so every alert
# was compressed once per watching operator (a third of the server's CPU per candidate with ten
# operators, tests/bench/bench_reliability.py). Alerts are a few kB on a control room's network.
UVICORN_OPTIONS = {"ws_per_message_deflate": False}


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (use Redis to share alerts).")] = 1,
    log_level: Annotated[str, typer.Option()] = "info",
) -> None:
    """Run the control-room service (HTTP + WebSocket)."""
    import uvicorn

    from api.core.settings import get_settings
    from api.core.zones import ZoneIndex
    from geofence import GeofenceError

    settings = get_settings()
    try:  # refused here, in one line, rather than as a traceback from every worker's start-up
        ZoneIndex.load(settings.zones_file, default_target_s=settings.default_target_s)
    except (GeofenceError, OSError) as exc:
        _fail(f"zones file {settings.zones_file}: {exc}; fix it or unset FLYONCE_ZONES_FILE")
    uvicorn.run("api.main:app", host=host, port=port, workers=workers, log_level=log_level,
                **UVICORN_OPTIONS)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option("--role", "-r", help="operator, ground_team, evaluator, admin, detector or department")],
    team: Annotated[str | None, typer.Option(help="Team id (ground_team users).")] = None,
    department: Annotated[str | None, typer.Option(help="The department a department user files patrol requests for (e.g. 市场监管).")] = None,
    password: Annotated[str | None, typer.Option(help="Prompted for when omitted.")] = None,
) -> None:
    """Create a user with a hashed password."""
    from sqlmodel import Session

    from api.core import db, users
    from api.core.errors import ServiceError
    from api.core.settings import get_settings

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        _fail("the password needs at least 8 characters")
    engine = db.create_db_engine(get_settings().resolved_database_url)
    db.upgrade(engine)
    with Session(engine) as session:
        try:
            user = users.add_user(session, name, password, role, team_id=team,
                                  department=department)
        except ServiceError as exc:
            _fail(exc.message)
    typer.echo(f"created user {user.username} ({user.role}"
               + (f", {user.department}" if user.department else "") + ")")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (never drops data)."""
    from api.core import db
    from api.core.settings import get_settings

    url = get_settings().resolved_database_url
    db.upgrade(db.create_db_engine(url))
    typer.echo(f"database at {url.split('@')[-1]} is up to date")


@app.command()
def report(
    out: Annotated[Path, typer.Option(help="Where to write the HTML report.")] = Path("flyonce-report.html"),
    since: Annotated[str | None, typer.Option(help="From this time (ISO 8601 with timezone).")] = None,
    until: Annotated[str | None, typer.Option(help="Until this time (ISO 8601 with timezone).")] = None,
    zone_kind: Annotated[str | None, typer.Option(help="Only events in zones of this kind.")] = None,
) -> None:
    """Write the closed-loop report (figures and plots) over the events in the database."""
    from datetime import datetime

    from sqlmodel import Session

    from api.core import db
    from api.core.clock import SystemClock
    from api.core.errors import ServiceError
    from api.core.settings import get_settings
    from api.evaluation import hotspots
    from api.evaluation.persuasion_figures import load_figures
    from api.evaluation import site_figures
    from api.evaluation.report import build_report
    from api.lifecycle.misses import miss_reasons
    from api.lifecycle.queries import events_query

    def parse(value: str | None, name: str) -> datetime | None:
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            _fail(f"--{name} '{value}' is not an ISO 8601 time, e.g. 2026-11-25T08:00:00+08:00")

    start, end = parse(since, "since"), parse(until, "until")
    try:
        query = events_query(since=start, until=end, zone_kind=zone_kind)
    except ServiceError as exc:
        _fail(exc.message.replace("'since'", "--since").replace("'until'", "--until"))
    engine = db.create_db_engine(get_settings().resolved_database_url)
    db.upgrade(engine)
    tz = get_settings().local_tz
    # The sites' figures are yearly: the year the period ends in (this year when open-ended).
    year = (end or datetime.now().astimezone()).year
    with Session(engine) as session:
        events = session.exec(query).all()
        page = build_report(events, period=(start, end), persuasion=load_figures(session, events),
                            miss_reasons=miss_reasons(session, [e.id for e in events]),
                            extra_sections=[hotspots.report_section(events, tz=tz),
                                            site_figures.report_section(
                                                site_figures.load(session, year, tz=tz))],
                            tz=tz, generated_at=SystemClock().now())
    out.write_text(page, encoding="utf-8")
    typer.echo(f"report on {len(events)} events written to {out.resolve()}")


# Subcommands owned by the other packages; their modules import nothing heavy at the top.
from api.cli.patrols import patrols_app  # noqa: E402
from api.cli.reviews import dataset_command, model_app, train_command  # noqa: E402
from api.demo.cli import demo  # noqa: E402
from detection.cli import detect, mine, train, train_curves  # noqa: E402
from dispatch.cli import docks_app, export_plan, fleet  # noqa: E402
from simulators.camera.cli import clip, dataset  # noqa: E402
from simulators.cli import sim  # noqa: E402

app.command("demo")(demo)
app.command("sim")(sim)
app.command("detect")(detect)
app.command("train")(train_command(train))
app.command("train-curves")(train_curves)
app.command("mine")(mine)
app.command("fleet")(fleet)
app.command("fleet-plan")(export_plan)
app.add_typer(docks_app, name="docks")
app.command("dataset")(dataset_command(dataset))
app.command("clip")(clip)
app.add_typer(patrols_app, name="patrols")
app.add_typer(model_app, name="model")
