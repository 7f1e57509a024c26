"""``flyonce sim``: a fleet of simulated copters at the sample town's docks, until Ctrl-C."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["sim"]


def sim(
    drones: Annotated[int, typer.Option(help="How many MAVLink copters to start.", min=0,
                                        max=250)] = 6,
    dji_docks: Annotated[int, typer.Option(help="How many DJI docks (Cloud API over MQTT) to "
                                           "start beside them, at the docks in turn.", min=0,
                                           max=50)] = 0,
    mqtt: Annotated[str, typer.Option(help="The MQTT broker (HOST:PORT) the DJI docks speak "
                                      "through.")] = "127.0.0.1:1883",
    speedup: Annotated[float, typer.Option(help="Mission seconds per wall second (1-50 is "
                                           "typical).", min=0.01, max=1000)] = 10.0,
    docks: Annotated[Path | None, typer.Option(help="GeoJSON FeatureCollection of dock Points "
                                               "(properties id, name); default: the sample "
                                               "town's docks.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for wind gusts and GPS noise.")] = 0,
    base_port: Annotated[int, typer.Option(help="TCP port of vehicle 1; vehicle i listens on "
                                           "base_port + 10*(i-1). 0 picks free ports.",
                                           min=0, max=65000)] = 5760,
    udp_port: Annotated[int | None, typer.Option(help="Also send vehicle i's MAVLink to UDP "
                                                 "udp_port + 10*(i-1) (SITL uses 14550).")] = None,
    stream_hz: Annotated[float | None, typer.Option(
        help="Stream all telemetry at this rate without being asked. Default: the SRn_ "
             "parameters, 4 Hz per stream group (SYS_STATUS, GPS_RAW_INT, GLOBAL_POSITION_INT, "
             "ATTITUDE, VFR_HUD …), as behind sim_vehicle.py's MAVProxy; 0: only HEARTBEAT "
             "until a ground station asks, as ArduCopter firmware ships.", min=0, max=50)] = None,
    wind: Annotated[float, typer.Option(help="Steady wind speed in m/s (SIM_WIND_SPD).",
                                        min=0, max=20)] = 0.0,
    fault: Annotated[list[str] | None, typer.Option(help="Inject a fault: SYSID:KIND[:ARG]"
                                                    "[@AT_S], e.g. 2:drop_link:30@60, "
                                                    "1:fail_battery, 3:refuse_arm:Compass, "
                                                    "2:lose_gps:20. Repeatable.")] = None,
    video_port: Annotated[int | None, typer.Option(
        help="Serve each copter's camera (the synthetic town from its true pose) as MJPEG over "
             "HTTP on this port, at http://127.0.0.1:PORT/video/SYSID.mjpg: put it in the fleet "
             "file as the drone's `video`. 0 picks a free port.", min=0, max=65535)] = None,
    video_fps: Annotated[float, typer.Option(help="Frames a second of each camera stream.",
                                             min=0.5, max=30)] = 10.0,
    video_size: Annotated[str, typer.Option(help="Camera frame size, WIDTHxHEIGHT px.")] = "640x480",
) -> None:
    """Start simulated copters and DJI docks, print one line per vehicle, run until Ctrl-C."""
    from geofence import load_docks, sample_town
    from geofence.errors import GeofenceError
    from simulators.errors import SimulatorError
    from simulators.faults import inject, parse_fault
    from simulators.fleet import Fleet
    from simulators.vehicle import Home

    try:
        faults = [parse_fault(spec) for spec in fault or []]
        places = load_docks(docks) if docks is not None else sample_town().docks
    except (SimulatorError, GeofenceError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for f in faults:
        if f.sysid > drones:
            typer.echo(f"error: fault {f} names vehicle {f.sysid} but only {drones} are started",
                       err=True)
            raise typer.Exit(2)
    if drones + dji_docks == 0:
        typer.echo("error: start at least one copter (--drones) or DJI dock (--dji-docks)",
                   err=True)
        raise typer.Exit(2)
    mqtt_host, _, mqtt_port = mqtt.rpartition(":")
    if not mqtt_host or not mqtt_port.isdigit():
        typer.echo(f"error: --mqtt {mqtt!r}: write HOST:PORT, e.g. 127.0.0.1:1883", err=True)
        raise typer.Exit(2)
    try:
        video_wh = tuple(int(v) for v in video_size.lower().split("x"))
        if len(video_wh) != 2 or min(video_wh) < 240:
            raise ValueError
    except ValueError:
        typer.echo(f"error: --video-size {video_size!r}: write WIDTHxHEIGHT, at least 240 px "
                   "each, e.g. 640x480", err=True)
        raise typer.Exit(2) from None
    homes = [_home_at_dock(places, i, Home) for i in range(drones)]
    # the DJI docks take the docks after the copters', 5 m further west when one is taken
    dock_homes = [_home_at_dock(places, drones + j, Home, east_m=-5.0) for j in range(dji_docks)]
    try:
        fleet = Fleet.start(
            homes,
            speedup=speedup,
            seed=seed,
            base_tcp_port=base_port,
            udp_out_ports=[udp_port + 10 * i for i in range(drones)] if udp_port else None,
            stream_hz=stream_hz,
            params={"SIM_WIND_SPD": wind, "SIM_WIND_TURB": wind / 4.0},
            dji_docks=dock_homes, mqtt_host=mqtt_host, mqtt_port=int(mqtt_port),
        )
    except SimulatorError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    video = _start_video(fleet, video_port, video_fps, video_wh) if video_port is not None else None
    with fleet:
        for f in faults:
            vehicle = fleet.vehicles[f.sysid - 1]
            if f.at_s <= 0:
                # In force before the endpoints are printed, so no client can act before it.
                inject(vehicle, f)
            else:
                fleet.at(f.at_s, lambda v=vehicle, f=f: inject(v, f))
        typer.echo(f"clock {fleet.clock.spec()}")
        for v in fleet.vehicles:
            udp = f" {v.udp_out}" if v.udp_out else ""
            typer.echo(f"sysid {v.sysid} dock {v.home.name} {v.endpoint}{udp}", )
        for d in fleet.docks:
            typer.echo(f"dji {d.gateway_sn} aircraft {d.aircraft_sn} dock {d.home.name} {d.url}")
        if video is not None:
            for v in fleet.vehicles:
                typer.echo(f"video {v.sysid} {video.url(str(v.sysid))}")
        typer.echo(f"{drones} copters and {dji_docks} DJI docks at {speedup:g}x; Ctrl-C stops",
                   err=True)
        while not stop.wait(0.5):
            pass
    if video is not None:
        video.stop()
    signal.signal(signal.SIGINT, previous)
    typer.echo("stopped", err=True)


def _start_video(fleet, port: int, fps: float, wh: tuple[int, int]):
    """Every copter's camera as MJPEG over HTTP: the sample town (seed 7, as the demo's) from the
    vehicle's true pose."""
    from simulators.camera.mjpeg import MjpegServer, pose_camera
    from simulators.town.sample import sample_world

    world = sample_world(7)
    return MjpegServer({str(v.sysid): pose_camera(world, lambda v=v: v.state, width_px=wh[0],
                                                  height_px=wh[1]) for v in fleet.vehicles},
                       fps=fps, port=port).start()


def _home_at_dock(docks: tuple, index: int, home_type: type, east_m: float = 5.0) -> object:
    """Vehicle ``index``'s home: docks in turn, extra vehicles ``east_m`` further east at the
    same dock."""
    from geofence.frame import LocalFrame

    dock = docks[index % len(docks)]
    slot = index // len(docks)
    lat, lon = (dock.lat, dock.lon) if slot == 0 else \
        LocalFrame(dock.lat, dock.lon).to_wgs84(east_m * slot, 0.0)
    name = dock.id if slot == 0 else f"{dock.id}#{slot + 1}"
    return home_type(lat, lon, 10.0, name)


if __name__ == "__main__":
    typer.run(sim)
