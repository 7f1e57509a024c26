"""The plain parts of DJI's Cloud API thing model that ``dispatch.dji_link`` speaks: topics,
message envelopes, the aircraft's mode codes and what the result codes mean.

From DJI's Cloud API reference (developer.dji.com/doc/cloud-api-tutorial, "Dock to Cloud",
MQTT; docs/dji.md lists the pages): every message is JSON with ``tid`` (one exchange), ``bid``
(one business flow), ``timestamp`` (ms) and ``data``; the cloud sends ``method`` on
``thing/product/{gateway_sn}/services`` and the dock answers on ``…/services_reply`` with
``data.result`` (0 is success) and the same ``tid``/``bid``; progress comes as ``…/events``
(answered on ``…/events_reply`` when ``need_reply`` is 1); properties come as
``thing/product/{device_sn}/osd`` (0.5 Hz) and ``…/state`` (on change), for the dock and for its
aircraft, each under its own serial number. No paho here: the link owns the client.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

__all__ = ["MODE_NAMES", "MalformedMessage", "decode", "envelope", "result_text", "topic"]

#: The aircraft's ``mode_code`` (osd) by number: DJI's DroneModeCode enumeration.
MODE_NAMES = {
    0: "IDLE", 1: "TAKEOFF_PREPARE", 2: "TAKEOFF_FINISHED", 3: "MANUAL", 4: "TAKEOFF_AUTO",
    5: "WAYLINE", 6: "PANORAMIC_SHOT", 7: "ACTIVE_TRACK", 8: "ADS_B_AVOIDANCE", 9: "RETURN_AUTO",
    10: "LANDING_AUTO", 11: "LANDING_FORCED", 12: "LANDING_THREE_PROPELLER", 13: "UPGRADING",
    14: "DISCONNECTED", 15: "APAS", 16: "VIRTUAL_JOYSTICK", 17: "LIVE_FLIGHT_CONTROLS",
}
#: Modes in which the aircraft flies itself home or down: a failsafe unless we sent it home.
SELF_RETURN_MODES = frozenset({"RETURN_AUTO", "LANDING_AUTO", "LANDING_FORCED",
                               "LANDING_THREE_PROPELLER"})
#: Modes in which a pilot (the remote controller, "Controller B", or joysticks) flies it.
PILOT_MODES = frozenset({"MANUAL", "VIRTUAL_JOYSTICK", "ACTIVE_TRACK", "PANORAMIC_SHOT"})
#: Modes of a take-off under way (the dock prepares, the aircraft climbs).
TAKEOFF_MODES = frozenset({"TAKEOFF_PREPARE", "TAKEOFF_FINISHED", "TAKEOFF_AUTO"})

# Dock ``mode_code``: 0 idle, 1 on-site debugging, 2 remote debugging, 3 upgrading, 4 working.
DOCK_MODE_NAMES = {0: "idle", 1: "on-site debugging", 2: "remote debugging",
                   3: "firmware upgrade", 4: "working"}
# Dock ``cover_state``.
COVER_NAMES = {0: "closed", 1: "open", 2: "half open", 3: "abnormal"}

# What a result code means, for the messages this link raises (DJI's error code tables:
# wayline 314xxx-322xxx, dock 514xxx, live stream 13xxx). Codes not here are shown as numbers.
_RESULT_TEXT = {
    0: "success",
    13001: "no aircraft",
    13003: "the camera is already streaming",
    13013: "this URL type is not supported",
    13014: "the live stream parameters are abnormal or incomplete",
    316009: "aircraft battery low, charge it to 50 % first",
    319016: "the dock is performing another task",
    319022: "FlyTo task failed",
    319025: "task in preparation; try again later",
    319026: "aircraft battery lower than the set value (the dock's take-off threshold)",
    319030: "the dock has no flight control authority",
    321514: "start or end point in a buffer zone or beyond the distance limit",
    321515: "the flight would cross a GEO zone",
    321524: "the aircraft's preparation before take-off failed",
    514100: "command not supported by the dock",
    514107: "failed to open the dock cover",
    514120: "dock and aircraft disconnected",
    514144: "dock cover open or not fully closed",
    514171: "cloud command parameter error",
}


class MalformedMessage(ValueError):
    """A message on a thing topic that is not the thing model's JSON; the text says why."""


def topic(sn: str, kind: str) -> str:
    """``thing/product/{sn}/{kind}`` (kind: osd, state, services, services_reply, events …)."""
    return f"thing/product/{sn}/{kind}"


def envelope(method: str | None, data: Any, *, timestamp_ms: int, tid: str | None = None,
             bid: str | None = None, **extra: Any) -> dict[str, Any]:
    """A thing-model message: new ``tid``/``bid`` unless given."""
    message: dict[str, Any] = {"tid": tid or str(uuid.uuid4()), "bid": bid or str(uuid.uuid4()),
                               "timestamp": int(timestamp_ms), "data": data}
    if method is not None:
        message["method"] = method
    message.update(extra)
    return message


def decode(payload: bytes) -> dict[str, Any]:
    """The JSON object of one MQTT payload; ``MalformedMessage`` when it is not one."""
    try:
        message = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedMessage(f"not UTF-8 JSON: {exc}") from None
    if not isinstance(message, dict):
        raise MalformedMessage(f"a {type(message).__name__}, not a JSON object")
    if "data" in message and message["data"] is not None and \
            not isinstance(message["data"], dict):
        raise MalformedMessage("'data' is not an object")
    return message


def result_text(code: int) -> str:
    """``"319030 (the dock has no flight control authority)"`` or just the number."""
    text = _RESULT_TEXT.get(code)
    return f"{code} ({text})" if text else str(code)
