"""Simulated DJI docks on an MQTT broker: the thing topics each dock speaks, one paho client for all.

Per dock (gateway ``sn``, aircraft ``asn``), as DJI's Cloud API lays the topics out:

- publishes ``thing/product/{sn}/osd`` and, while the aircraft is powered,
  ``thing/product/{asn}/osd`` every ``OSD_PERIOD_S`` (0.5 Hz) of mission time;
  ``thing/product/{sn}/state`` when the cover or the aircraft's place changes;
  ``thing/product/{sn}/events`` (progress; ``need_reply`` 1 on a task's last event);
  ``thing/product/{sn}/requests`` (``config``, once, when the dock comes online);
- answers ``thing/product/{sn}/services`` on ``…/services_reply`` with the request's tid and bid;
  a request repeated with the same tid gets the first answer again without being redone;
- reads ``…/events_reply`` and ``…/requests_reply`` (kept for tests: ``replies_seen``).

A payload that is not JSON, or lacks a method or tid, is counted (``malformed``) and dropped;
an unknown method is answered 514100. MQTT callbacks run in paho's thread under the fleet's lock,
publishing only (paho queues it); the fleet thread calls ``tick`` after each physics step.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from typing import Any

from simulators.dji.dock import Dock
from simulators.dji.thing import OSD_PERIOD_S, Code, outgoing, thing_topic
from simulators.errors import EndpointUnavailable

__all__ = ["DockEndpoints"]

log = logging.getLogger("flyonce.simulators.dji")
_REMEMBERED_TIDS = 64


class _DockLink:
    """One dock's side of the broker: when it last spoke, what it answered, its link state."""

    def __init__(self, dock: Dock) -> None:
        self.dock = dock
        self.next_osd_s = 0.0
        self.answered: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.down_until_s = -1.0
        self.last_state: tuple[int, int] | None = None
        self.online = False


class DockEndpoints:
    """Every simulated dock of a fleet on one MQTT connection; ``start`` / ``tick`` / ``stop``."""

    def __init__(self, docks: list[Dock], lock: threading.RLock, clock: Any, *,
                 host: str = "127.0.0.1", port: int = 1883) -> None:
        self._lock = lock
        self._clock = clock  # its ``start``: timestamps are epoch ms of mission time
        self._links = {d.config.gateway_sn: _DockLink(d) for d in docks}
        self.host, self.port = host, port
        self.malformed = 0
        self.replies_seen: list[tuple[str, str, dict[str, Any]]] = []  # (sn, kind, message)
        self._client: Any = None

    # ---------------------------------------------------------------- connection

    def start(self) -> None:
        """Connect to the broker and subscribe; ``EndpointUnavailable`` if it cannot be reached."""
        import paho.mqtt.client as mqtt

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=f"flyonce-sim-docks-{uuid.uuid4().hex[:8]}")
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        subscribed = threading.Event()
        client.on_subscribe = lambda *_args: subscribed.set()
        try:
            client.connect(self.host, self.port, keepalive=10)
        except OSError as exc:
            raise EndpointUnavailable(f"the MQTT broker {self.host}:{self.port} is unreachable "
                                      f"({exc}); start it (mosquitto -d) or pass another "
                                      "--mqtt HOST:PORT") from exc
        client.loop_start()
        self._client = client
        if not subscribed.wait(10.0):  # a service sent before this would go unanswered
            self.stop()
            raise EndpointUnavailable(f"the MQTT broker {self.host}:{self.port} did not confirm "
                                      "the docks' subscriptions within 10 s")

    def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason: Any,
                    _props: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("the broker refused the simulated docks: %s", reason)
            return
        client.subscribe([(thing_topic(sn, kind), 1) for sn in self._links
                          for kind in ("services", "events_reply", "requests_reply")])

    # ---------------------------------------------------------------- faults

    def drop_link(self, sn: str, until_s: float) -> None:
        """Silence dock ``sn`` both ways until mission time ``until_s``."""
        self._links[sn].down_until_s = max(self._links[sn].down_until_s, until_s)

    # ---------------------------------------------------------------- incoming (paho's thread)

    def _on_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        parts = msg.topic.split("/")
        with self._lock:
            link = self._links.get(parts[2]) if len(parts) == 4 else None
            if link is None or link.dock.vehicle.time_s < link.down_until_s:
                return
            try:
                message = json.loads(msg.payload.decode("utf-8"))
                if not isinstance(message, dict) or not isinstance(message.get("tid"), str):
                    raise TypeError("not a thing-model object with a tid")
            except (UnicodeDecodeError, ValueError, TypeError) as exc:
                self.malformed += 1
                log.warning("dock %s dropped a malformed %s message: %s", parts[2], parts[3], exc)
                return
            if parts[3] == "services":
                self._answer(link, message)
            else:
                self.replies_seen.append((parts[2], parts[3], message))

    def _answer(self, link: _DockLink, message: dict[str, Any]) -> None:
        tid = message["tid"]
        reply = link.answered.get(tid)
        if reply is None:
            method, data = message.get("method"), message.get("data")
            if data is None:
                data = {}
            if not isinstance(method, str) or not isinstance(data, dict):
                self.malformed += 1
                result, output = Code.PARAMETER_ERROR, {}
            else:
                result, output = link.dock.handle(method, data)
            reply = outgoing(method if isinstance(method, str) else None,
                             {"result": result, "output": output}, self._ms(link),
                             tid=tid, bid=str(message.get("bid", "")))
            link.answered[tid] = reply
            while len(link.answered) > _REMEMBERED_TIDS:
                link.answered.popitem(last=False)
        self._publish(thing_topic(link.dock.config.gateway_sn, "services_reply"), reply)

    # ---------------------------------------------------------------- outgoing (fleet thread)

    def tick(self) -> None:
        """After a physics step (under the fleet's lock): publish the events and osd now due."""
        for sn, link in self._links.items():
            dock = link.dock
            now = dock.vehicle.time_s
            events = dock.events()
            if now < link.down_until_s:
                continue
            if not link.online:
                link.online = True
                self._publish(thing_topic(sn, "requests"), outgoing(
                    "config", {"config_type": "json", "config_scope": "product"}, self._ms(link)))
            for method, data, final in events:
                self._publish(thing_topic(sn, "events"), outgoing(
                    method, data, self._ms(link), gateway=sn, need_reply=int(final)))
            state = (dock.cover_state, int(dock.drone_in_dock))
            if state != link.last_state:
                link.last_state = state
                self._publish(thing_topic(sn, "state"), outgoing(
                    None, {"cover_state": state[0], "drone_in_dock": state[1]}, self._ms(link),
                    gateway=sn))
            if now >= link.next_osd_s - 1e-6:  # on a 2 s grid of mission time
                link.next_osd_s = max(link.next_osd_s or now, now - OSD_PERIOD_S) + OSD_PERIOD_S
                self._publish(thing_topic(sn, "osd"), outgoing(
                    None, dock.dock_osd(), self._ms(link), gateway=sn))
                aircraft = dock.aircraft_osd()
                if aircraft is not None:
                    self._publish(thing_topic(dock.config.aircraft_sn, "osd"), outgoing(
                        None, aircraft, self._ms(link), gateway=sn))

    def _ms(self, link: _DockLink) -> int:
        """Epoch milliseconds of the dock's own mission time (the physics', not the wall's)."""
        return int(self._clock.start.timestamp() * 1000 + link.dock.vehicle.time_s * 1000)

    def _publish(self, where: str, message: dict[str, Any]) -> None:
        if self._client is not None:
            self._client.publish(where, json.dumps(message, ensure_ascii=False),
                                 qos=0 if where.endswith("/osd") else 1)
