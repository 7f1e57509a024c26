"""DJI Cloud API thing-model constants the simulated dock answers with, and its messages.

Result codes are DJI's (the error code tables of the Cloud API reference; docs/dji.md cites
the pages); only those the simulated dock can give are named here.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = ["OSD_PERIOD_S", "PROGRESS_PERIOD_S", "Code", "outgoing", "thing_topic"]

#: osd is "reported in the frequency of 0.5HZ" (Properties, pushMode 0), mission seconds.
OSD_PERIOD_S = 2.0
#: Progress events: DJI gives no rate; the simulated dock reports each task once a second.
PROGRESS_PERIOD_S = 1.0


class Code:
    """The result codes the simulated dock answers with (0 is success)."""

    OK = 0
    # live stream (13xxx)
    LIVE_NO_AIRCRAFT = 13001
    LIVE_ALREADY_STARTED = 13003
    LIVE_URL_TYPE_NOT_SUPPORTED = 13013
    LIVE_ERROR_PARAMETERS = 13014
    # wayline and live flight controls (31xxxx-32xxxx)
    RETURN_NOT_FLYING = 316024  # "Aircraft failed to return to home. Check if aircraft has taken off"
    DOCK_PERFORMING_OTHER_TASK = 319016
    FLYTO_TASK_FAILED = 319022
    TASK_IN_PREPARATION = 319025
    BATTERY_BELOW_SET_VALUE = 319026
    NO_FLIGHT_AUTHORITY = 319030
    DISTANCE_LIMIT = 321514  # "Flight route start or end point in buffer zone or exceeds distance limit"
    GEO_ZONE = 321515  # "Aircraft will fly across GEO Zone"
    PREPARATION_FAILED = 321524
    DEVICE_LOCKED = 327012  # "Failed to obtain control. Device is locked."
    # dock (514xxx)
    COMMAND_NOT_SUPPORTED = 514100
    OPEN_COVER_FAILED = 514107
    AIRCRAFT_DISCONNECTED = 514120
    PARAMETER_ERROR = 514171


def thing_topic(sn: str, kind: str) -> str:
    """``thing/product/{sn}/{kind}``."""
    return f"thing/product/{sn}/{kind}"


def outgoing(method: str | None, data: Any, time_ms: int, *, tid: str = "", bid: str = "",
             **fields: Any) -> dict[str, Any]:
    """A message the dock sends: the thing model's tid, bid, timestamp (ms), method and data."""
    out = {"tid": tid or uuid.uuid4().hex, "bid": bid or uuid.uuid4().hex, "timestamp": time_ms,
           **fields, "data": data}
    if method:
        out["method"] = method
    return out
