"""The ASGI application for uvicorn (`uvicorn api.main:app`, and `flyonce serve`), from FLYONCE_*.

An entry point, like ``api.cli``: it picks the service's clock. With ``FLYONCE_SIM_CLOCK`` set (a
``simulators.clock.SimClock.spec()`` string, as `flyonce sim` prints), the service reads the
simulators' mission time; otherwise wall time. Only the entry points and ``api.demo`` import
``simulators``; the service itself sees a ``Clock``.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from api.core.clock import Clock, SystemClock
from api.core.settings import Settings, get_settings
from api.monitoring import logs


def clock_for(settings: Settings) -> Clock:
    """The simulators' mission clock when ``settings.sim_clock`` names one, else wall time."""
    if not settings.sim_clock:
        return SystemClock()
    from simulators.clock import SimClock  # only simulation needs the simulators package

    return SimClock.from_spec(settings.sim_clock)


def service_app() -> FastAPI:
    """The application as `flyonce serve` runs it, configured from the environment."""
    settings = get_settings()
    logs.configure(settings.log_format, settings.log_level)
    return create_app(settings, clock=clock_for(settings))


app = service_app()
