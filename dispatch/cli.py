"""``flyonce fleet``, ``flyonce fleet-plan`` and ``flyonce docks …``: the fleet's state, a drone's
route or patrol flight for QGroundControl / MAVProxy, where docks reach and where to put them.

``fleet`` and ``export_plan`` are plain functions with Typer-annotated parameters and
``docks_app`` a Typer group; the lead registers them on ``flyonce``; ``python -m dispatch.cli
export-plan …`` runs the export standalone.
"""

from __future__ import annotations

import sys
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


# ---------------------------------------------------------------- flyonce docks …

docks_app = typer.Typer(help="Where can drones be in time: reachability of docks, and dock siting.",
                        no_args_is_help=True)

ZonesOption = Annotated[Path | None, typer.Option(
    "--zones", help="GeoJSON zones (default: the shipped sample town).")]
SpacingOption = Annotated[float, typer.Option(help="Grid cell size in metres.", min=2, max=500)]
MarginOption = Annotated[float, typer.Option(help="Routes keep this far from no-fly zones (m).",
                                             min=0)]
AltOption = Annotated[float, typer.Option(help="Cruise altitude above home (m).", min=1)]
RadiusOption = Annotated[float, typer.Option(help="On scene within this distance (m).", min=0)]
HoldOption = Annotated[float, typer.Option(help="Hold on scene the battery must allow (s).",
                                           min=0)]


@docks_app.command("plan")
def docks_plan(
    target_share: Annotated[float, typer.Option(
        help="Share of every zone kind's area to reach within its target.", min=0.01, max=1.0)],
    zones_file: ZonesOption = None,
    candidates: Annotated[Path | None, typer.Option(
        help="GeoJSON Point features: the sites the city offers (default: a grid).")] = None,
    candidate_spacing_m: Annotated[float, typer.Option(
        help="Spacing of the candidate grid when no --candidates file is given (m).",
        min=20)] = 250.0,
    kinds: Annotated[str | None, typer.Option(
        help="Comma-separated zone kinds to cover (default: every kind but no_fly).")] = None,
    spacing_m: SpacingOption = 20.0,
    out: Annotated[Path, typer.Option(help="Map image (PNG) of both plans.")] = Path(
        "docks_plan.png"),
    margin_m: MarginOption = 20.0,
    alt_m: AltOption = 30.0,
    radius_m: RadiusOption = 30.0,
    hold_s: HoldOption = 300.0,
) -> None:
    """The fewest docks reaching the share of every zone kind in time: integer programme vs greedy."""
    import time

    from dispatch.errors import SitingInfeasible
    from dispatch.reach_plot import Panel, reach_png
    from dispatch.siting import candidate_grid, coverage, plan_greedy, plan_milp
    from geofence import GeofenceError, load_docks

    try:
        zones, frame, reach = _reach_setup(zones_file, margin_m, alt_m, radius_m, hold_s)
        sites = (load_docks(candidates) if candidates is not None
                 else candidate_grid(zones, reach, candidate_spacing_m))
    except GeofenceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    wanted = [k.strip() for k in kinds.split(",") if k.strip()] if kinds else None
    source = str(candidates) if candidates else f"a grid every {candidate_spacing_m:g} m"
    with typer.progressbar(length=len(sites), label=f"{len(sites)} candidate sites",
                           file=sys.stderr) as bar:
        last = [0]

        def advance(done: int, _total: int) -> None:
            bar.update(done - last[0])
            last[0] = done

        try:
            cov = coverage(reach, zones, sites, spacing_m=spacing_m, kinds=wanted,
                           progress=advance)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(f"candidates: {len(cov.sites)} from {source}"
               + (f" ({len(cov.skipped)} inside no-fly zones left out)" if cov.skipped else "")
               + f"; demand: {cov.kind_area_m2.sum() / 1e6:.2f} km² of "
               + ", ".join(f"{k} {a / 1e6:.2f}" for k, a in zip(cov.kinds, cov.kind_area_m2))
               + f" km² in {spacing_m:g} m cells")
    plans = []
    try:
        for label, solve in (("integer programme (HiGHS)", plan_milp), ("greedy", plan_greedy)):
            t0 = time.perf_counter()
            plan = solve(cov, target_share)
            plans.append((label, plan, time.perf_counter() - t0))
    except SitingInfeasible as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for label, plan, took_s in plans:
        typer.echo("")
        typer.echo(f"{label}: {_docks(len(plan.sites))}"
                   + (", proven fewest" if plan.optimal else "") + f", {took_s:.2f} s")
        typer.echo(_siting_table(plan))
    panels = []
    for label, plan, _ in plans:
        field = reach.map(zones, plan.sites, spacing_m=spacing_m)
        shares = ", ".join(f"{k} {100 * v:.1f} %" for k, v in plan.shares.items())
        panels.append(Panel(field, [(str(i + 1), s.lat, s.lon) for i, s in enumerate(plan.sites)],
                            f"{label}: {_docks(len(plan.sites))}\n{shares}",
                            candidates=[(s.lat, s.lon) for s in cov.sites]))
    out.write_bytes(reach_png(panels, zones, frame))
    typer.echo(f"\nmap: {out}")


@docks_app.command("reach")
def docks_reach(
    zones_file: ZonesOption = None,
    docks_file: Annotated[Path | None, typer.Option(
        "--docks", help="GeoJSON Point features: the docks (default: the sample town's).")] = None,
    spacing_m: SpacingOption = 20.0,
    out: Annotated[Path, typer.Option(help="Map image (PNG).")] = Path("reach.png"),
    margin_m: MarginOption = 20.0,
    alt_m: AltOption = 30.0,
    radius_m: RadiusOption = 30.0,
    hold_s: HoldOption = 300.0,
) -> None:
    """Where an idle drone is within target: the share of each zone and zone kind, and a map."""
    from dispatch.reach_plot import Panel, reach_png
    from geofence import GeofenceError, load_docks, sample_town

    try:
        zones, frame, reach = _reach_setup(zones_file, margin_m, alt_m, radius_m, hold_s)
        docks = load_docks(docks_file) if docks_file is not None else sample_town().docks
        field = reach.map(zones, docks, spacing_m=spacing_m)
    except GeofenceError as exc:  # bad files, or a dock inside a no-fly zone (NoRouteFound)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{'zone':<34} {'kind':<12} {'km²':>6} {'in time':>8}")
    for z in field.zones:
        typer.echo(f"{z.name[:34]:<34} {z.kind:<12} {z.area_m2 / 1e6:>6.2f} "
                   f"{100 * z.within_share:>7.1f}%")
    typer.echo("")
    for k in field.kinds:
        typer.echo(f"{'all ' + k.kind:<34} {k.kind:<12} {k.area_m2 / 1e6:>6.2f} "
                   f"{100 * k.within_share:>7.1f}%")
    shares = ", ".join(f"{k.kind} {100 * k.within_share:.1f} %" for k in field.kinds)
    out.write_bytes(reach_png([Panel(field, [(d.id, d.lat, d.lon) for d in docks],
                                     f"{len(docks)} docks: {shares}")], zones, frame))
    typer.echo(f"\nmap: {out}")


def _reach_setup(zones_file, margin_m, alt_m, radius_m, hold_s):
    from dispatch.reachability import Reachability
    from geofence import LocalFrame, Router, ZoneSet, sample_town

    if zones_file is None:
        town = sample_town()
        zones, frame = town.zones, town.frame
    else:
        zones = ZoneSet.from_geojson(zones_file)
        min_lon, min_lat, max_lon, max_lat = zones.bounds
        frame = LocalFrame((min_lat + max_lat) / 2, (min_lon + max_lon) / 2)
    reach = Reachability(Router(zones, frame, margin_m=margin_m), alt_rel_m=alt_m,
                         arrival_radius_m=radius_m, hold_s=hold_s)
    return zones, frame, reach


def _docks(count: int) -> str:
    return f"{count} dock" + ("" if count == 1 else "s")


def _siting_table(plan) -> str:
    """One row per dock: the share of each kind once it is added, and what it added."""
    heads = [k[:12] for k in plan.kinds]
    lines = [f"{'#':>2}  {'site':<28} {'lat':>10} {'lon':>11}  "
             + " ".join(f"{h:>12}" for h in heads)]
    for i, step in enumerate(plan.steps, 1):
        cells = " ".join(f"{100 * s:>5.1f} +{100 * g:>4.1f}" for s, g in zip(step.shares,
                                                                            step.gains))
        site = f"{step.site.id} ({step.site.name})" if step.site.name != step.site.id \
            else step.site.id
        lines.append(f"{i:>2}  {site[:28]:<28} {step.site.lat:>10.6f} {step.site.lon:>11.6f}  "
                     + cells)
    return "\n".join(lines)


if __name__ == "__main__":  # python -m dispatch.cli fleet … | export-plan …
    _app = typer.Typer(no_args_is_help=True)
    _app.command("fleet")(fleet)
    _app.command("export-plan")(export_plan)
    _app()
