"""``flyonce fleet``: connect to every drone of a fleet file and say whether each could fly now.

A plain function with Typer-annotated parameters; the lead registers it on ``flyonce``.
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
