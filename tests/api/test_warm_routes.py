"""The service prepares FastAPI's per-route request handling at start-up, not on the first request."""

from __future__ import annotations

import fastapi.routing
from fastapi.testclient import TestClient

from api.app import create_app
from api.core.settings import Settings
from tests.api.conftest import TEST_SECRET


def _counted_builds(monkeypatch) -> list[str]:  # noqa: ANN001
    """The paths of the routes FastAPI prepares from now on, in order."""
    built: list[str] = []
    original = fastapi.routing._IncludedRouter._build_effective_context

    def counted(self, route):  # noqa: ANN001, ANN202
        built.append(getattr(route, "path", "?"))
        return original(self, route)

    monkeypatch.setattr(fastapi.routing._IncludedRouter, "_build_effective_context", counted)
    return built


def _settings(tmp_path, warm: bool) -> Settings:  # noqa: ANN001
    return Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", data_dir=tmp_path,
                    secret_key=TEST_SECRET, warm_routes=warm)


def test_the_first_requests_after_a_start_prepare_no_route(tmp_path, monkeypatch) -> None:
    built = _counted_builds(monkeypatch)
    with TestClient(create_app(_settings(tmp_path, warm=True))) as client:
        at_start = len(built)
        assert at_start > 50  # every route of the API, prepared during start-up
        assert client.get("/api/v1/events").status_code == 401
        assert client.post("/api/v1/candidates", json={}).status_code in (401, 422)
        assert len(built) == at_start  # nothing left for a request to prepare


def test_with_warming_off_start_up_prepares_no_route(tmp_path, monkeypatch) -> None:
    built = _counted_builds(monkeypatch)
    with TestClient(create_app(_settings(tmp_path, warm=False))) as client:
        assert built == []
        assert client.get("/api/v1/events").status_code == 401  # prepared when it is needed
