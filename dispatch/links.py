"""The one interface dispatch flies a drone through, whatever protocol the drone speaks.

The planner, the dispatcher, persuasion and patrols talk to a ``VehicleLink``; they never ask
which protocol is behind it. Two implementations:

- ``dispatch.link.DroneLink``: MAVLink (ArduCopter, SITL, ``simulators``), pymavlink;
- ``dispatch.dji_link.DjiLink``: DJI Cloud API over MQTT (a DJI Dock 2 / Dock 3 and its
  aircraft), paho-mqtt.

``open_link(url, …)`` picks one from the fleet file's URL:

=========================================  ==================================================
URL                                        link
=========================================  ==================================================
``tcp:127.0.0.1:5760``, ``udpin:…``,       MAVLink, as pymavlink's ``mavlink_connection``
``udpout:…``, ``/dev/ttyUSB0``             takes it (today's plain URLs keep working)
``mavlink+tcp://127.0.0.1:5760``           MAVLink over TCP (``mavlink+udp://`` for ``udpin``,
                                           ``mavlink+udpout://`` for ``udpout``)
``dji+mqtt://127.0.0.1:1883/{gateway_sn}``  DJI Cloud API through the MQTT broker at
                                           host:port, the dock's serial number as the path;
                                           ``?launch_s=20&psdk_index=2`` tune it
=========================================  ==================================================

Every verb awaits the drone's own acknowledgement and raises the ``dispatch.errors`` tree:
``CommandRejected`` (with the protocol's result code: a MAV_RESULT or a DJI result code),
``LinkTimeout``, ``MissionAborted`` / ``ModeOverridden``, ``PayloadError``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qs, urlsplit

from dispatch.errors import FleetFileError

__all__ = ["CommandRecord", "LinkUrl", "VehicleLink", "open_link", "parse_link_url"]

MAVLINK = "mavlink"
DJI = "dji"
_MAVLINK_SCHEMES = {"mavlink+tcp": "tcp", "mavlink+udp": "udpin", "mavlink+udpin": "udpin",
                    "mavlink+udpout": "udpout"}
_PYMAVLINK_PREFIXES = ("tcp:", "tcpin:", "udp:", "udpin:", "udpout:", "udpbcast:", "/dev/",
                       "com")
DEFAULT_MQTT_PORT = 1883


@dataclass(frozen=True)
class CommandRecord:
    """The last command a drone accepted: which protocol, which method, and how long it took.

    ``method`` is the protocol's own name (``MAV_CMD_DO_SET_MODE``, ``flight_authority_grab``);
    ``sent_at``/``acked_at`` are on the injected clock, ``ack_wall_s`` in wall seconds.
    """

    protocol: str
    method: str
    sent_at: datetime
    acked_at: datetime
    ack_wall_s: float


@dataclass(frozen=True)
class LinkUrl:
    """A fleet file URL taken apart: the protocol and what its link needs."""

    protocol: str  # "mavlink" | "dji"
    address: str  # pymavlink's connection string, or the broker's host
    port: int = 0  # the broker's port (DJI)
    gateway_sn: str = ""  # the dock's serial number (DJI)
    options: tuple[tuple[str, str], ...] = ()

    def option(self, name: str, default: str | None = None) -> str | None:
        return dict(self.options).get(name, default)


def parse_link_url(url: str) -> LinkUrl:
    """The protocol and address of a fleet URL; ``FleetFileError`` saying how to write it if not."""
    text = url.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in _MAVLINK_SCHEMES:
        rest = text.split("://", 1)[1].rstrip("/")
        if ":" not in rest:
            raise FleetFileError(f"url {url!r}: write {scheme}://HOST:PORT")
        return LinkUrl(MAVLINK, f"{_MAVLINK_SCHEMES[scheme]}:{rest}")
    if scheme == "dji+mqtt":
        parts = urlsplit(text)
        sn = parts.path.strip("/")
        if not parts.hostname or not sn or "/" in sn or "+" in sn or "#" in sn:
            raise FleetFileError(f"url {url!r}: write dji+mqtt://BROKER_HOST:PORT/GATEWAY_SN "
                                 "(the dock's serial number, as its osd topic names it)")
        try:
            port = parts.port or DEFAULT_MQTT_PORT
        except ValueError as exc:
            raise FleetFileError(f"url {url!r}: bad port ({exc})") from None
        options = tuple(sorted((k, v[-1]) for k, v in parse_qs(parts.query).items()))
        return LinkUrl(DJI, parts.hostname, port, sn, options)
    if scheme:
        raise FleetFileError(f"url {url!r}: unknown scheme {scheme!r}; use mavlink+tcp://, "
                             "mavlink+udp://, dji+mqtt:// or a plain pymavlink URL such as "
                             "tcp:127.0.0.1:5760")
    if text.startswith(_PYMAVLINK_PREFIXES) or ":" in text:
        return LinkUrl(MAVLINK, text)
    raise FleetFileError(f"url {url!r} is not a drone URL; write e.g. 'tcp:127.0.0.1:5760', "
                         "'mavlink+tcp://127.0.0.1:5760' or 'dji+mqtt://127.0.0.1:1883/DOCK_SN'")


@runtime_checkable
class VehicleLink(Protocol):
    """One drone: telemetry (``Telemetry``: position, altitude, heading, battery, mode, link
    health) and commands (go to a point and hold, return, land, speak, start the live stream)."""

    drone_id: str
    url: str
    protocol: str  # "mavlink" | "dji"
    link_timeout_s: float
    #: Seconds a grounded drone needs beyond the model's launch before it climbs (a dock's cover).
    launch_s: float
    last_command: CommandRecord | None

    @property
    def telemetry(self) -> Any: ...

    async def connect(self, timeout_s: float = 10.0) -> Any: ...

    async def close(self) -> None: ...

    def alive(self) -> bool: ...

    def lost(self) -> bool: ...

    async def wait_update(self, timeout_s: float = 0.5) -> Any: ...

    async def prepare(self) -> None:
        """The first command of a mission (MAVLink: GUIDED; DJI: flight_authority_grab)."""

    async def fly_route(self, points: Sequence[tuple[float, float]], *, alt_rel_m: float,
                        switch_radius_m: float = 10.0, arrival_radius_m: float = 2.0,
                        on_update: Callable[[Any], None] | None = None) -> Any:
        """Take off if on the ground, fly through ``points``; return within the radius of the last."""

    async def hold_at(self, lat: float, lon: float, alt_rel_m: float) -> None:
        """Go to (lat, lon) at ``alt_rel_m`` above home and hold there."""

    def check_flying(self) -> None:
        """Raise if the link is lost, a failsafe flies the drone, or someone else took it."""

    async def return_home(self) -> None: ...

    async def land(self) -> None: ...

    async def announce(self, *, clip_id: int | None = None, text: str | None = None,
                       repeat: int = 1, volume_pct: int = 100) -> Any: ...

    async def start_live(self, url: str | None = None) -> str: ...

    async def run_patrol(self, waypoints: Sequence[tuple[float, float]], *,
                         alt_rel_m: float) -> int: ...


def open_link(url: str, *, dji: dict[str, Any] | None = None, **kwargs: Any) -> VehicleLink:
    """The link for a fleet URL (MAVLink or DJI Cloud API); keyword arguments go to its class,
    ``dji`` only to a DJI link (``credentials``, ``mqtt_username``, ``mqtt_password``, ``clips``)."""
    parsed = parse_link_url(url)
    if parsed.protocol == DJI:
        from dispatch.dji_link import DjiLink

        return DjiLink(url, **kwargs, **(dji or {}))
    from dispatch.link import DroneLink

    return DroneLink(parsed.address, **kwargs)
