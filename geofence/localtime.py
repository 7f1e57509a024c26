"""The city's local time zone: where clocks without a zone (a DJI drone's .SRT, a filter's day)
are read. ``FLYONCE_LOCAL_TZ`` (an IANA name), Asia/Shanghai by default."""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from geofence.errors import GeofenceError

DEFAULT_LOCAL_TZ = "Asia/Shanghai"


def local_tz(name: str | None = None) -> ZoneInfo:
    """``name``, else ``FLYONCE_LOCAL_TZ``, else Asia/Shanghai, as a zone; GeofenceError naming
    the setting when it is not a time zone."""
    name = name or os.environ.get("FLYONCE_LOCAL_TZ") or DEFAULT_LOCAL_TZ
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise GeofenceError(f"unknown time zone {name!r} (FLYONCE_LOCAL_TZ or --tz): use an IANA "
                            "name such as Asia/Shanghai") from exc
