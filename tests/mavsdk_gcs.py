"""MAVSDK (the ``mavsdk`` wheel, its own C++ MAVLink stack) as an independent ground station.

MAVSDK 4 loads ``libcmavsdk.so`` from the wheel in-process; every MAVLink byte still goes over
a real TCP socket to the simulator, and MAVSDK decides for itself whether the vehicle is
connected, healthy, armed or finished with its mission.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from mavsdk import LogLevel, log_subscribe
from mavsdk.asyncio import ComponentType, Configuration, Mavsdk, System

MAVSDK_LOG: list[str] = []  # MAVSDK's own log lines (warnings and errors), for failure messages


def _keep_quiet(level: LogLevel, message: str, file: str | None, line: int) -> bool:
    if level >= LogLevel.WARN:
        MAVSDK_LOG.append(f"{level.name}: {message}")
        del MAVSDK_LOG[:-200]
    return True  # never print: pytest output stays readable


log_subscribe(_keep_quiet)


def mavsdk_url(endpoint: str) -> str:
    """MAVSDK's URL for a simulator endpoint ``tcp:HOST:PORT`` (MAVSDK connects out to it)."""
    kind, host, port = endpoint.split(":")
    if kind != "tcp":
        raise ValueError(f"only tcp endpoints are used with MAVSDK here, got {endpoint!r}")
    return f"tcpout://{host}:{port}"


@contextlib.asynccontextmanager
async def mavsdk_system(endpoint: str, timeout_s: float = 10.0) -> AsyncIterator[System]:
    """A MAVSDK ground station (system id 245) connected to the autopilot at ``endpoint``."""
    config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
    async with Mavsdk(config) as mavsdk:
        await mavsdk.add_any_connection(mavsdk_url(endpoint))
        system = await mavsdk.first_autopilot(timeout_s=timeout_s)
        assert system is not None, f"MAVSDK found no autopilot at {endpoint}: {MAVSDK_LOG[-5:]}"
        yield system


async def until(condition: Callable[[], bool], wall_s: float, what: str = "") -> None:
    """Wait (polling every 20 ms of wall time) until ``condition()``; AssertionError after
    ``wall_s``."""
    for _ in range(int(wall_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    assert condition(), f"not within {wall_s} s: {what}"
