"""The mission item protocol of one vehicle, for its three plans: mission, fence, rally points.

As ArduPilot's MissionItemProtocol: an upload is MISSION_COUNT(n, type) → the vehicle asks
MISSION_REQUEST_INT 0…n−1, re-asking after ``retry_s`` of silence → MISSION_ITEM_INT each →
MISSION_ACK (ACCEPTED, or the reason it was refused); a download is MISSION_REQUEST_LIST →
MISSION_COUNT → MISSION_REQUEST_INT(seq) → MISSION_ITEM_INT. MISSION_CLEAR_ALL empties one
plan. Item 0 of a mission is home (ignored on upload, home on download); fence and rally plans
have no home item. Every reply echoes the request's mission_type.

Deviations: one upload at a time (a second MISSION_COUNT replaces the first); out-of-order
items are ignored rather than NAKed; fence and rally uploads are checked item by item for
their commands and as a whole for polygon shape, the rest of ArduPilot's checks (storage
space, frames) are not made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pymavlink.dialects.v20 import ardupilotmega as mav

from simulators.channel import Channel
from simulators.errors import BadPlan
from simulators.fence import FENCE_COMMANDS, RALLY_POINT
from simulators.mission import MissionItem
from simulators.vehicle import Vehicle

__all__ = ["MISSION_RETRY_LIMIT", "PlanTransfer", "item_of"]

MISSION_RETRY_LIMIT = 8
MISSION, FENCE, RALLY = (mav.MAV_MISSION_TYPE_MISSION, mav.MAV_MISSION_TYPE_FENCE,
                         mav.MAV_MISSION_TYPE_RALLY)
_RESULTS = {"ERROR": mav.MAV_MISSION_ERROR, "UNSUPPORTED": mav.MAV_MISSION_UNSUPPORTED}


def item_of(msg: mav.MAVLink_message) -> MissionItem:
    """The ``MissionItem`` a MISSION_ITEM or MISSION_ITEM_INT carries (degrees, metres)."""
    scale = 1e7 if msg.get_type() == "MISSION_ITEM_INT" else 1.0
    return MissionItem(
        command=msg.command, frame=msg.frame, param1=msg.param1, param2=msg.param2,
        param3=msg.param3, param4=msg.param4, lat=msg.x / scale, lon=msg.y / scale,
        alt_m=msg.z, autocontinue=msg.autocontinue,
    )


def _peer(msg: mav.MAVLink_message) -> tuple[int, int]:
    return msg.get_srcSystem(), msg.get_srcComponent()


@dataclass
class _Upload:
    channel: Channel
    count: int
    peer: tuple[int, int]
    mission_type: int
    items: list[MissionItem] = field(default_factory=list)
    asked_at_s: float = 0.0
    retries: int = 0


class PlanTransfer:
    """Uploads, downloads and clears of a vehicle's plans; ``say(channel, severity, text)``
    sends a STATUSTEXT on one channel, ``announce(severity, text)`` on all."""

    def __init__(self, vehicle: Vehicle, *, retry_s: float,
                 say: Callable[[Channel, int, str], None],
                 announce: Callable[[int, str], None]) -> None:
        self.vehicle = vehicle
        self.retry_s = retry_s
        self._say = say
        self._announce = announce
        self._upload: _Upload | None = None

    # ---------------------------------------------------------------- plans

    def _items(self, mission_type: int) -> list[MissionItem] | None:
        v = self.vehicle
        return {MISSION: v.mission, FENCE: v.fence.items, RALLY: v.rally.items}.get(mission_type)

    def _store(self, mission_type: int, items: list[MissionItem]) -> None:
        """Hand a complete plan to the vehicle (BadPlan when the fence makes no sense)."""
        if mission_type == MISSION:
            self.vehicle.set_mission(items)
        elif mission_type == FENCE:
            self.vehicle.set_fence(items)
        else:
            self.vehicle.set_rally(items)

    @staticmethod
    def _refusal(mission_type: int, item: MissionItem) -> BadPlan | None:
        """Why ``item`` cannot be part of a plan of ``mission_type`` (None when it can)."""
        if mission_type == FENCE and item.command not in FENCE_COMMANDS:
            return BadPlan(f"Fence: command {item.command} is not a fence item",
                           result="UNSUPPORTED")
        if mission_type == RALLY and item.command != RALLY_POINT:
            return BadPlan(f"Rally: command {item.command} is not a rally point",
                           result="UNSUPPORTED")
        return None

    # ---------------------------------------------------------------- upload

    def on_count(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        """MISSION_COUNT: start an upload (or store an empty plan at once)."""
        peer, mission_type = _peer(msg), getattr(msg, "mission_type", MISSION)
        if self._items(mission_type) is None:
            self._ack(channel, peer, mav.MAV_MISSION_UNSUPPORTED, mission_type)
            return
        if msg.count <= (1 if mission_type == MISSION else 0):
            self._store(mission_type, [])
            self._ack(channel, peer, mav.MAV_MISSION_ACCEPTED, mission_type)
            return
        self._upload = _Upload(channel=channel, count=msg.count, peer=peer,
                               mission_type=mission_type)
        self._request(self._upload)

    def on_item(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        """MISSION_ITEM(_INT) of an upload: keep it, ask for the next, or finish."""
        upload = self._upload
        mission_type = getattr(msg, "mission_type", MISSION)
        if upload is None or upload.channel is not channel or msg.seq != len(upload.items) \
                or mission_type != upload.mission_type:
            return  # a stale repeat of an item we already have, or nobody asked: ignore
        item = item_of(msg)
        refusal = self._refusal(mission_type, item)
        if refusal is not None:
            self._fail(upload, refusal)
            return
        upload.items.append(item)
        upload.retries = 0
        if len(upload.items) < upload.count:
            self._request(upload)
            return
        self._upload = None
        try:
            self._store(mission_type, upload.items)
        except BadPlan as exc:
            self._fail(upload, exc)
            return
        self._ack(channel, upload.peer, mav.MAV_MISSION_ACCEPTED, mission_type)
        if mission_type == MISSION:
            self._announce(mav.MAV_SEVERITY_INFO, "Flight plan received")

    def _fail(self, upload: _Upload, exc: BadPlan) -> None:
        self._upload = None
        self._ack(upload.channel, upload.peer, _RESULTS[exc.result], upload.mission_type)
        self._say(upload.channel, mav.MAV_SEVERITY_WARNING, str(exc))

    def _request(self, upload: _Upload) -> None:
        upload.asked_at_s = self.vehicle.time_s
        upload.channel.send(mav.MAVLink_mission_request_int_message(
            upload.peer[0], upload.peer[1], len(upload.items), upload.mission_type))

    def tick(self) -> None:
        """Re-ask for an item after ``retry_s`` of silence; give up after MISSION_RETRY_LIMIT."""
        upload = self._upload
        if upload is None or self.vehicle.time_s - upload.asked_at_s < self.retry_s:
            return
        if upload.retries >= MISSION_RETRY_LIMIT:
            self._upload = None
            self._ack(upload.channel, upload.peer, mav.MAV_MISSION_OPERATION_CANCELLED,
                      upload.mission_type)
            self._say(upload.channel, mav.MAV_SEVERITY_WARNING, "Mission upload timeout")
        else:
            upload.retries += 1
            self._request(upload)

    def forget(self, channel: Channel) -> None:
        """Drop an upload coming over ``channel`` (its peer went away)."""
        if self._upload is not None and self._upload.channel is channel:
            self._upload = None

    # ---------------------------------------------------------------- download and clear

    def on_request_list(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        """MISSION_REQUEST_LIST: how many items the plan holds (0 for a type we do not keep)."""
        mission_type = getattr(msg, "mission_type", MISSION)
        items = self._items(mission_type)
        peer = _peer(msg)
        channel.send(mav.MAVLink_mission_count_message(
            peer[0], peer[1], len(items) if items is not None else 0, mission_type))

    def on_request(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        """MISSION_REQUEST(_INT): send item ``seq`` of the plan, in the form asked for."""
        peer, mission_type = _peer(msg), getattr(msg, "mission_type", MISSION)
        items = self._items(mission_type)
        if items is None or not 0 <= msg.seq < len(items):
            self._ack(channel, peer, mav.MAV_MISSION_INVALID_SEQUENCE, mission_type)
            return
        item = items[msg.seq]
        current = int(mission_type == MISSION and msg.seq == self.vehicle.mission_current)
        args = (peer[0], peer[1], msg.seq, item.frame, item.command, current, item.autocontinue,
                item.param1, item.param2, item.param3, item.param4)
        if msg.get_type() == "MISSION_REQUEST_INT":
            channel.send(mav.MAVLink_mission_item_int_message(
                *args, int(round(item.lat * 1e7)), int(round(item.lon * 1e7)), item.alt_m,
                mission_type))
        else:
            channel.send(mav.MAVLink_mission_item_message(
                *args, item.lat, item.lon, item.alt_m, mission_type))

    def on_clear_all(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        """MISSION_CLEAR_ALL: empty the plan of that type (MAV_MISSION_TYPE_ALL: all three)."""
        mission_type = getattr(msg, "mission_type", MISSION)
        types = (MISSION, FENCE, RALLY) if mission_type == mav.MAV_MISSION_TYPE_ALL else \
            (mission_type,)
        if any(self._items(t) is None for t in types):
            result = mav.MAV_MISSION_UNSUPPORTED
        else:
            for t in types:
                self._store(t, [])
            result = mav.MAV_MISSION_ACCEPTED
        self._ack(channel, _peer(msg), result, mission_type)

    @staticmethod
    def _ack(channel: Channel, peer: tuple[int, int], result: int, mission_type: int) -> None:
        channel.send(mav.MAVLink_mission_ack_message(peer[0], peer[1], result, mission_type))
