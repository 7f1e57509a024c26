"""``flyonce detect --api``: posting candidates survives a service that is restarting or busy
(the ingest is idempotent, so a POST is sent again), and says what failed when it cannot; a long
clip reports its progress. No model runs here: the candidates are stand-ins."""

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from detection.cli import post_candidates, progress_printer
from detection.errors import PublishError


class Candidate:
    def __init__(self, key: str) -> None:
        self.source_event_id = key

    def to_json(self) -> dict:
        return {"source": "detector:d1", "source_event_id": self.source_event_id}


def serve(answers: list[tuple[int, dict]]):
    """A service answering the given (status, headers) in turn, then 201 for good."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body["source_event_id"])
            status, headers = answers.pop(0) if answers else (201, {})
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}", seen


def test_a_busy_service_is_tried_again_with_a_doubling_wait_and_retry_after_obeyed():
    server, url, seen = serve([(503, {}), (503, {}), (429, {"Retry-After": "3"})])
    waits: list[float] = []
    try:
        posted = list(post_candidates(url, "t", [Candidate("a"), Candidate("b")],
                                      retries=6, backoff_s=0.5, sleep=waits.append))
    finally:
        server.shutdown()
    assert [(c.source_event_id, status) for c, status in posted] == [("a", 201), ("b", 201)]
    assert seen == ["a", "a", "a", "a", "b"]  # three refusals of a, then a, then b once
    assert waits == [0.5, 1.0, 3.0]  # 0.5 s doubling, and the 429's own Retry-After


def test_an_unreachable_service_is_tried_retries_times_then_named():
    waits: list[float] = []
    with pytest.raises(PublishError, match=r"cannot reach http://127\.0\.0\.1:9/api/v1/candidates "
                                           r"after 3 tries"):
        list(post_candidates("http://127.0.0.1:9", None, [Candidate("a")], retries=3,
                             backoff_s=0.25, sleep=waits.append))
    assert waits == [0.25, 0.5]


def test_a_refused_candidate_is_not_sent_again():
    server, url, seen = serve([(422, {})])
    waits: list[float] = []
    try:
        with pytest.raises(PublishError, match="answered 422"):
            list(post_candidates(url, None, [Candidate("a")], sleep=waits.append))
    finally:
        server.shutdown()
    assert seen == ["a"] and waits == []


def test_progress_lines_say_how_far_into_the_clip():
    out = io.StringIO()
    report = progress_printer(every_wall_s=0.0, out=out)
    report(30.0, 120.0)
    report(45.0, None)  # a live feed: no end known
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("detect: 30 s of the clip read of 120 s (25 %), ")
    assert lines[1].startswith("detect: 45 s of the clip read, ")
