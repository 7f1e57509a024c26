"""The fleet on the command line: ``fleet`` checks every drone of a fleet file, ``export_plan``
writes a drone's route or patrol flight for QGroundControl / MAVProxy.

Plain functions with Typer-annotated parameters; the lead registers them on ``flyonce``
(``flyonce fleet``); ``python -m dispatch.cli export-plan …`` runs them standalone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def fleet(
    fleet_file: Annotated[Path, typer.Argument(help="TOML fleet file: [[drone]] id, url, dock.")],
    timeout_s: Annotated[float, typer.Option(help="Seconds to wait for each drone.",
                                             min=0.5, max=120)] = 5.0,
) -> None:
    """Connect to each drone, print one line of state per drone; exit 1 if any is unavailable."""
    import asyncio

    from dispatch.errors import DispatchError
    from dispatch.fleet import availability, load_fleet
    from dispatch.link import DroneLink, SystemClock

    try:
        entries = load_fleet(fleet_file)
    except DispatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    clock = SystemClock()

    async def check(entry) -> tuple[bool, str]:
        link = DroneLink(entry.url, drone_id=entry.id, clock=clock)
        try:
            await link.connect(timeout_s)
            for _ in range(int(timeout_s / 0.1)):
                t = await link.wait_update(0.1)
                # A line is printed once position, battery and landed state have all arrived.
                if t.battery_pct is not None and t.lat is not None and t.landed_state != "UNDEFINED":
                    break
        except DispatchError as exc:
            return False, f"{entry.id}: unavailable: {exc}"
        finally:
            await link.close()
        ok, why = availability(t, clock.now())
        pct = f"{t.battery_pct:.0f} %" if t.battery_pct is not None else "?"
        return ok, (f"{entry.id}: {'available' if ok else 'unavailable: ' + why}; mode {t.mode}, "
                    f"{'armed' if t.armed else 'disarmed'}, {t.landed_state.lower()}, battery {pct}")

    async def main() -> list[tuple[bool, str]]:
        return await asyncio.gather(*(check(e) for e in entries))

    results = asyncio.run(main())
    for _ok, line in results:
        typer.echo(line)
    if not all(ok for ok, _ in results):
        raise typer.Exit(1)


def export_plan(
    fleet_file: Annotated[Path, typer.Argument(help="TOML fleet file: [[drone]] id, url, dock.")],
    drone_id: Annotated[str, typer.Argument(help="The drone whose flight is exported.")],
    out: Annotated[Path, typer.Argument(help="Where to write: NAME.plan (QGroundControl) or "
                                        "NAME.waypoints / NAME.txt (MAVLink WPL, MAVProxy).")],
    to: Annotated[str | None, typer.Option(help="An event at LAT,LON: the drone's dispatch "
                                           "route there from its dock, around the no-fly "
                                           "zones.")] = None,
    waypoints: Annotated[Path | None, typer.Option(help="A patrol flight's path: a GeoJSON "
                                                   "LineString or MultiPoint (lon, lat).")] = None,
    zones: Annotated[Path | None, typer.Option(help="GeoJSON FeatureCollection of zones to route "
                                               "around (default: the sample town's).")] = None,
    alt_m: Annotated[float, typer.Option(help="Cruise altitude, metres above home.",
                                         min=1, max=500)] = 30.0,
    hold_s: Annotated[float, typer.Option(help="Seconds to hold over the event (--to).",
                                          min=0)] = 0.0,
    home_amsl_m: Annotated[float, typer.Option(help="The dock's altitude above mean sea level "
                                               "(the plan's home).")] = 10.0,
) -> None:
    """Write a drone's route to an event, or a patrol flight, as a file ground stations load."""
    from dispatch.errors import DispatchError
    from dispatch.fleet import load_fleet
    from dispatch.plan_files import dispatch_plan, patrol_plan, write_plan
    from geofence import GeofenceError, LocalFrame, Router, ZoneSet, sample_town
    from geofence.zone_file import load_zones, read_geojson

    def fail(message: str) -> typer.Exit:
        typer.echo(f"error: {message}", err=True)
        return typer.Exit(2)

    if (to is None) == (waypoints is None):
        raise fail("give exactly one of --to LAT,LON (a dispatch route) and --waypoints FILE "
                   "(a patrol flight)")
    try:
        entry = next((e for e in load_fleet(fleet_file) if e.id == drone_id), None)
        if entry is None:
            raise fail(f"no drone {drone_id!r} in {fleet_file}")
        dock = (entry.dock_lat, entry.dock_lon)
        if to is not None:
            scene = _lat_lon_of(to)
            if zones is None:
                town = sample_town()
                router = Router(town.zones, town.frame)
            else:
                router = Router(ZoneSet(load_zones(zones, default_target_s=300.0)),
                                LocalFrame(*dock))
            plan = dispatch_plan(router, dock, scene, alt_rel_m=alt_m, hold_s=hold_s,
                                 home_amsl_m=home_amsl_m)
        else:
            assert waypoints is not None
            plan = patrol_plan(dock, _path_of(read_geojson(waypoints)), alt_rel_m=alt_m,
                               home_amsl_m=home_amsl_m)
        written = write_plan(plan, out)
    except (DispatchError, GeofenceError, ValueError, OSError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{written}: {len(plan.items)} mission items for {drone_id} from its dock "
               f"({dock[0]:.6f}, {dock[1]:.6f})")


def _lat_lon_of(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--to {text!r} is not LAT,LON in degrees, e.g. 29.5068,120.9046") \
            from None
    return lat, lon


def _path_of(data: object) -> list[tuple[float, float]]:
    """(lat, lon) points of the first LineString or MultiPoint in a GeoJSON object."""
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        for feature in data.get("features") or []:
            try:
                return _path_of(feature)
            except ValueError:
                continue
    elif isinstance(data, dict) and data.get("type") == "Feature":
        return _path_of(data.get("geometry"))
    elif isinstance(data, dict) and data.get("type") in ("LineString", "MultiPoint"):
        return [(float(lat), float(lon)) for lon, lat, *_ in data.get("coordinates") or []]
    raise ValueError("--waypoints needs a GeoJSON LineString or MultiPoint of (lon, lat)")


if __name__ == "__main__":  # python -m dispatch.cli fleet … | export-plan …
    _app = typer.Typer(no_args_is_help=True)
    _app.command("fleet")(fleet)
    _app.command("export-plan")(export_plan)
    _app()
