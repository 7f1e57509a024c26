"""A bare Cloud API "cloud" for simulator tests: a paho client that records every thing message.

It knows nothing of flyonce's DjiLink: what it sends and reads is DJI's thing model as the
documentation lays it out, so the simulated dock is checked against the documents, not against
our own client.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
import pytest

BROKER = ("127.0.0.1", 1883)


def require_broker() -> None:
    """Fail (never skip) when the MQTT broker is down: the DJI tests need a real one."""
    try:
        socket.create_connection(BROKER, timeout=2).close()
    except OSError as exc:
        pytest.fail(f"the MQTT broker {BROKER[0]}:{BROKER[1]} is unreachable ({exc}); start it: "
                    "mosquitto -d -c /etc/mosquitto/mosquitto.conf (.ci/run does)")


class Cloud:
    """Subscribes to ``thing/product/+/#``; ``call`` sends a service and awaits its reply."""

    def __init__(self) -> None:
        require_broker()
        self.messages: list[tuple[float, str, dict[str, Any]]] = []  # (wall s, topic, message)
        self._cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"test-cloud-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.connect(*BROKER)
        self.client.subscribe("thing/product/+/#", qos=1)
        self.client.loop_start()
        assert subscribed.wait(5), "the broker did not confirm the subscription"

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        try:
            message = json.loads(msg.payload)
        except ValueError:
            return
        with self._cond:
            self.messages.append((time.monotonic(), msg.topic, message))
            self._cond.notify_all()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def send(self, sn: str, method: str | None, data: Any, *, tid: str | None = None,
             raw: bytes | None = None) -> str:
        tid = tid or uuid.uuid4().hex
        payload = raw if raw is not None else json.dumps(
            {"tid": tid, "bid": uuid.uuid4().hex, "timestamp": int(time.time() * 1000),
             "method": method, "data": data}, ensure_ascii=False)
        self.client.publish(f"thing/product/{sn}/services", payload, qos=1)
        return tid

    def call(self, sn: str, method: str, data: Any, timeout_s: float = 5.0) -> dict[str, Any]:
        """Send ``method`` and return its services_reply's data (result, output)."""
        tid = self.send(sn, method, data)
        reply = self.wait(lambda t, m: t.endswith(f"{sn}/services_reply") and m.get("tid") == tid,
                          timeout_s)
        return reply["data"]

    def wait(self, match: Any, timeout_s: float = 10.0, *, since: int = 0,
             sn: str | None = None) -> dict[str, Any]:
        """The first recorded message (topic, message) from index ``since`` on that
        ``match``es, waiting for it; only those of device ``sn`` when given. The broker is
        shared: tests running beside this one fly docks of their own, whose progress events
        would otherwise match too."""
        deadline = time.monotonic() + timeout_s
        prefix = f"thing/product/{sn}/" if sn is not None else ""
        with self._cond:
            while True:
                for _, where, message in self.messages[since:]:
                    if where.startswith(prefix) and match(where, message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching message in {timeout_s} s")
                self._cond.wait(left)

    def of(self, sn: str, kind: str, method: str | None = None) -> list[dict[str, Any]]:
        """Every message seen on ``thing/product/{sn}/{kind}`` (of ``method``), oldest first."""
        with self._cond:
            return [m for _, t, m in self.messages if t == f"thing/product/{sn}/{kind}"
                    and (method is None or m.get("method") == method)]
