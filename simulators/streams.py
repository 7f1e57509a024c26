"""What a link streams without being asked, and at what rate: ArduCopter's SRn_ stream groups.

ArduPilot groups its telemetry into streams (GCS_MAVLink_Parameters.cpp); parameter
``SR<link>_<GROUP>`` is the rate in Hz of every message of that group on that link, a
REQUEST_DATA_STREAM changes a group's rate on the link it arrives on, and
MAV_CMD_SET_MESSAGE_INTERVAL one message's. Only the messages the simulator produces are listed.

Deviations from ArduCopter (also in ``simulators/__init__``):

- The SRn_ defaults are 4 Hz per group (ArduCopter ships 0: HEARTBEAT only until asked), so a
  ground station that asks for nothing (MAVSDK, a plain pymavlink script) sees the vehicle as
  it would behind sim_vehicle.py's MAVProxy.
- EXTENDED_SYS_STATE rides in EXTRA3 (ArduCopter streams it only when asked for by interval).
- A parameter change applies to connections opened afterwards (ArduPilot: after a reboot), and a
  REQUEST_DATA_STREAM changes that connection's rates only, not the parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mav

from simulators.params import STREAM_GROUP_SUFFIXES, STREAM_LINKS, Params, stream_param

__all__ = ["GROUPS", "STREAMABLE", "StreamGroup", "groups_for_request", "rates_hz"]

TCP_LINK = 0  # SITL's SERIAL0: the TCP server of each vehicle
UDP_LINK = 1  # the optional UDP output


@dataclass(frozen=True)
class StreamGroup:
    """One SRn_ group: its parameter suffix, its MAV_DATA_STREAM id, the messages it carries."""

    suffix: str
    stream_id: int | None  # None: no REQUEST_DATA_STREAM id (PARAMS)
    msg_ids: tuple[int, ...]


GROUPS: tuple[StreamGroup, ...] = (
    StreamGroup("RAW_SENS", mav.MAV_DATA_STREAM_RAW_SENSORS, ()),
    StreamGroup("EXT_STAT", mav.MAV_DATA_STREAM_EXTENDED_STATUS, (
        mav.MAVLINK_MSG_ID_SYS_STATUS, mav.MAVLINK_MSG_ID_GPS_RAW_INT,
        mav.MAVLINK_MSG_ID_MISSION_CURRENT, mav.MAVLINK_MSG_ID_FENCE_STATUS,
    )),
    StreamGroup("RC_CHAN", mav.MAV_DATA_STREAM_RC_CHANNELS, ()),
    StreamGroup("RAW_CTRL", mav.MAV_DATA_STREAM_RAW_CONTROLLER, ()),
    StreamGroup("POSITION", mav.MAV_DATA_STREAM_POSITION, (
        mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT, mav.MAVLINK_MSG_ID_LOCAL_POSITION_NED,
    )),
    StreamGroup("EXTRA1", mav.MAV_DATA_STREAM_EXTRA1, (mav.MAVLINK_MSG_ID_ATTITUDE,)),
    StreamGroup("EXTRA2", mav.MAV_DATA_STREAM_EXTRA2, (mav.MAVLINK_MSG_ID_VFR_HUD,)),
    StreamGroup("EXTRA3", mav.MAV_DATA_STREAM_EXTRA3, (
        mav.MAVLINK_MSG_ID_SYSTEM_TIME, mav.MAVLINK_MSG_ID_BATTERY_STATUS,
        mav.MAVLINK_MSG_ID_EXTENDED_SYS_STATE,
    )),
    StreamGroup("PARAMS", None, ()),
)
assert tuple(g.suffix for g in GROUPS) == STREAM_GROUP_SUFFIXES

STREAMABLE = frozenset(i for group in GROUPS for i in group.msg_ids)
_GROUP_OF = {msg_id: group for group in GROUPS for msg_id in group.msg_ids}


def groups_for_request(stream_id: int) -> Iterator[StreamGroup]:
    """The groups a REQUEST_DATA_STREAM for ``stream_id`` sets (ALL: every group but PARAMS)."""
    for group in GROUPS:
        if group.stream_id is None:
            continue
        if stream_id in (mav.MAV_DATA_STREAM_ALL, group.stream_id):
            yield group


def rates_hz(params: Params, link: int) -> dict[int, float]:
    """{message id: Hz} that link ``link`` streams unasked, from its SRn_ parameters."""
    if not 0 <= link < STREAM_LINKS:
        raise ValueError(f"link {link} has no SR parameters (0 … {STREAM_LINKS - 1})")
    rates: dict[int, float] = {}
    for group in GROUPS:
        hz = params[stream_param(link, group.suffix)]
        if hz > 0:
            rates.update(dict.fromkeys(group.msg_ids, hz))
    return rates


def group_rate_hz(params: Params, link: int, msg_id: int) -> float:
    """The SRn_ rate of the group carrying ``msg_id`` on ``link`` (0 when it is in none)."""
    group = _GROUP_OF.get(msg_id)
    return params[stream_param(link, group.suffix)] if group is not None else 0.0
