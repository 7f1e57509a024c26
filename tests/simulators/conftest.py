"""Helpers for flying simulated copters over real TCP with pymavlink."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pymavlink import mavutil

from simulators.clock import SteppedClock
from simulators.fleet import Fleet

HANGZHOU = (30.2741, 120.1551)
SECOND_HOME = (30.2800, 120.1600)
WAIT_S = 5.0


class Client:
    """A pymavlink ground station (system id 255) on one vehicle's TCP endpoint."""

    def __init__(self, endpoint: str, source_system: int = 255) -> None:
        self.m = mavutil.mavlink_connection(endpoint, source_system=source_system,
                                            source_component=190, autoreconnect=False)
        self.hb = self.m.wait_heartbeat(timeout=WAIT_S)
        assert self.hb is not None, f"no heartbeat from {endpoint}"
        self.sysid = self.m.target_system
        self.log: list = []  # everything received through recv/drain, in order

    def recv(self, type_: str | list[str], timeout: float = WAIT_S, **fields: object):
        """The next message of ``type_`` whose fields match, or None after ``timeout`` wall s."""
        types = {type_} if isinstance(type_, str) else set(type_)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.m.recv_match(blocking=True, timeout=left)
            if msg is None:
                return None
            self.log.append(msg)
            if msg.get_type() in types and all(getattr(msg, k) == v for k, v in fields.items()):
                return msg
        return None

    def texts(self) -> list[str]:
        """Every STATUSTEXT received so far, including those passed over by ``recv``."""
        self.drain("STATUSTEXT")
        return [m.text for m in self.log if m.get_type() == "STATUSTEXT"]

    def drain(self, type_: str | list[str]) -> list:
        """Every message of ``type_`` already waiting (reads for a short while)."""
        types = {type_} if isinstance(type_, str) else set(type_)
        out = []
        while (msg := self.m.recv_match(blocking=True, timeout=0.3)) is not None:
            self.log.append(msg)
            if msg.get_type() in types:
                out.append(msg)
        return out

    def command(self, command: int, *params: float, target: int | None = None,
                component: int = 1, timeout: float = WAIT_S) -> int | None:
        """Send COMMAND_LONG and return the COMMAND_ACK result (None if none came)."""
        p = list(params) + [0.0] * (7 - len(params))
        self.m.mav.command_long_send(self.sysid if target is None else target, component,
                                     command, 0, *p)
        ack = self.recv("COMMAND_ACK", timeout=timeout, command=command)
        return None if ack is None else ack.result

    def command_int(self, command: int, frame: int, p1: float, p2: float, x: int, y: int,
                    z: float) -> int | None:
        """Send COMMAND_INT and return the COMMAND_ACK result."""
        self.m.mav.command_int_send(self.sysid, 1, frame, command, 0, 0, p1, p2, 0, 0, x, y, z)
        ack = self.recv("COMMAND_ACK", command=command)
        return None if ack is None else ack.result

    def set_mode(self, mode: int) -> int | None:
        return self.command(176, 1, mode)

    def set_param(self, name: str, value: float):
        self.m.mav.param_set_send(self.sysid, 1, name.encode(), value, 9)
        return self.recv("PARAM_VALUE", param_id=name)

    def upload(self, items: list[tuple], mission_type: int = 0) -> int | None:
        """Upload ``items`` (frame, command, param1, lat, lon, alt) as a plan of
        ``mission_type``; the MISSION_ACK result (None if none came)."""
        self.m.mav.mission_count_send(self.sysid, 1, len(items), mission_type)
        while True:
            msg = self.recv(["MISSION_REQUEST_INT", "MISSION_ACK"])
            if msg is None or msg.get_type() == "MISSION_ACK":
                return None if msg is None else msg.type
            frame, command, param1, lat, lon, alt = items[msg.seq]
            self.m.mav.mission_item_int_send(
                self.sysid, 1, msg.seq, frame, command, 0, 1, param1, 0, 0, 0,
                int(round(lat * 1e7)), int(round(lon * 1e7)), alt, mission_type)

    def download(self, mission_type: int = 0) -> list:
        """Every MISSION_ITEM_INT of the plan of ``mission_type``, in order."""
        self.m.mav.mission_request_list_send(self.sysid, 1, mission_type)
        count = self.recv("MISSION_COUNT", mission_type=mission_type).count
        items = []
        for seq in range(count):
            self.m.mav.mission_request_int_send(self.sysid, 1, seq, mission_type)
            items.append(self.recv("MISSION_ITEM_INT", seq=seq, mission_type=mission_type))
        return items

    def close(self) -> None:
        self.m.close()


@pytest.fixture
def stepped_fleet() -> Iterator:
    """A factory of deterministic fleets on free ports, stopped after the test."""
    fleets: list[Fleet] = []

    def start(homes=(HANGZHOU,), **kwargs) -> Fleet:
        kwargs.setdefault("clock", SteppedClock())
        fleet = Fleet.start(list(homes), base_tcp_port=0, **kwargs)
        fleets.append(fleet)
        return fleet

    yield start
    for fleet in fleets:
        fleet.stop()


@pytest.fixture
def clients() -> Iterator:
    """A factory of pymavlink clients, closed after the test."""
    made: list[Client] = []

    def connect(endpoint: str, source_system: int = 255) -> Client:
        client = Client(endpoint, source_system)
        made.append(client)
        return client

    yield connect
    for client in made:
        client.close()
