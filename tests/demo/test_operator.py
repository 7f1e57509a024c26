"""The simulated operator's referral of an on-scene event with no team (``SimOperator._cover``),
against a fake service: one event, on scene, no team; its warning's watch pending or decided."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.demo.actors import SimOperator

T0 = datetime(2026, 12, 7, tzinfo=UTC)


def _operator(outcome: str, watch_until_s: float | None = 300.0) -> tuple[SimOperator, list[str]]:
    resolved: list[str] = []

    def service(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v1/events":
            return httpx.Response(200, json={"total": 1, "items": [{"id": 7, "state": "on_scene"}]})
        if path == "/api/v1/events/7/persuasions":
            until = None if watch_until_s is None else \
                (T0 + timedelta(seconds=watch_until_s)).isoformat()
            return httpx.Response(200, json=[{"id": 1, "outcome": outcome,
                                              "watch_until": until}])
        if path == "/api/v1/events/7":
            return httpx.Response(200, json={"id": 7, "state": "on_scene", "tasks": [
                {"id": 1, "kind": "drone", "team_id": None}]})
        if path == "/api/v1/events/7/resolve":
            resolved.append(request.content.decode())
            return httpx.Response(200, json={})
        return httpx.Response(404)

    client = httpx.Client(transport=httpx.MockTransport(service), base_url="http://service")
    op = SimOperator(client, {}, scenario=None, t0=T0,
                     refer_after_s=240.0)
    return op, resolved


@pytest.mark.parametrize(("outcome", "referred"), [("pending", False), ("stubborn", True)])
def test_an_event_is_referred_only_once_the_drones_watch_has_ended(outcome, referred):
    op, resolved = _operator(outcome)
    op._cover(0.0)  # first seen on scene
    op._cover(239.0)
    assert resolved == []  # not before refer_after_s
    op._cover(240.0)
    assert bool(resolved) == referred
    assert all("disposition=referred" in body for body in resolved)


def test_the_referral_clock_starts_again_after_a_pending_watch():
    # the watch runs to 300 s: at 240 s the operator finds it watching and restarts its clock;
    # at 480 s the deadline has passed but the worker has not decided yet: it waits again
    op, resolved = _operator("pending", watch_until_s=300.0)
    op._cover(0.0)
    op._cover(240.0)
    op._cover(480.0)
    assert resolved == []
    # decided stubborn, and no team came free: referred 240 s after the operator's last look
    op._watching = lambda event_id: False
    op._cover(719.0)
    assert resolved == []
    op._cover(720.0)
    assert len(resolved) == 1


def test_a_play_never_played_does_not_hold_the_referral():
    # asked for, no answer from the drone: pending with no deadline, which nothing will decide
    op, resolved = _operator("pending", watch_until_s=None)
    op._cover(0.0)
    op._cover(240.0)
    assert len(resolved) == 1
