"""The service prepares FastAPI's per-route request handling at start-up, not on the first request."""

from __future__ import annotations

import fastapi.routing
from fastapi.testclient import TestClient

from api.app import create_app
from api.core.settings import Settings
from tests.api.conftest import TEST_SECRET


def test_the_first_requests_after_a_start_prepare_no_route(tmp_path, monkeypatch) -> None:
    built: list[str] = []
    original = fastapi.routing._IncludedRouter._build_effective_context

    def counted(self, route):  # noqa: ANN001, ANN202
        built.append(getattr(route, "path", "?"))
        return original(self, route)

    monkeypatch.setattr(fastapi.routing._IncludedRouter, "_build_effective_context", counted)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", data_dir=tmp_path,
                        secret_key=TEST_SECRET)
    with TestClient(create_app(settings)) as client:
        at_start = len(built)
        assert at_start > 50  # every route of the API, prepared during start-up
        assert client.get("/api/v1/events").status_code == 401
        assert client.post("/api/v1/candidates", json={}).status_code in (401, 422)
        assert len(built) == at_start  # nothing left for a request to prepare
