"""`flyonce patrols …`: plan department patrol requests into merged flights from the shell."""

from __future__ import annotations

from typing import Annotated

import typer

patrols_app = typer.Typer(help="Department patrol requests merged into shared flights (综合飞一次).",
                          no_args_is_help=True)


@patrols_app.command("plan")
def plan(
    week: Annotated[str, typer.Option(help="'generated' (the sample town's generated week, "
                                           "printed, not stored) or a day YYYY-MM-DD: plan the "
                                           "stored requests of its week and store the flights.")],
    seed: Annotated[int, typer.Option(help="Seed of the generated week.")] = 7,
    count: Annotated[int, typer.Option(help="Requests in the generated week.")] = 24,
) -> None:
    """Plan a week and print merged flights and flight-minutes against flying each pass alone."""
    from datetime import UTC, date, datetime

    from api.demo import patrol_week
    from api.patrols import plans

    if week == "generated":
        typer.echo(patrol_week.generated_week_figures(seed, count).line())
        return
    try:
        day = date.fromisoformat(week)
    except ValueError:
        typer.secho(f"error: --week {week!r} is neither 'generated' nor a day like 2026-11-30",
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None

    from api.core import db
    from api.core.errors import ServiceError
    from api.core.settings import get_settings
    from api.core.zones import ZoneIndex

    settings = get_settings()
    engine = db.create_db_engine(settings.resolved_database_url)
    db.upgrade(engine)
    zones = ZoneIndex.load(settings.zones_file, default_target_s=settings.default_target_s)
    try:
        # Planning is an administrative act on wall time; the plan replaces only future flights.
        stored = plans.plan_week(engine, zone_set=zones.zone_set, drones=None, day=day,
                                   tz=settings.local_tz, alt_rel_m=settings.hold_alt_m,
                                   margin_m=settings.no_fly_margin_m, actor="cli",
                                   now=datetime.now(UTC))
    except ServiceError as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(f"plan {stored.id}: " + plans.plan_figures(stored).line())
