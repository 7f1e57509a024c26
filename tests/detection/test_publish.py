"""``flyonce detect --api``: posting candidates survives a service that is restarting or busy
(the ingest is idempotent, so a POST is sent again), and says what failed when it cannot; a live
source posts as it goes (``LivePoster``); a long clip reports its progress. No model runs here:
the candidates are stand-ins."""

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from detection.cli import post_candidates, progress_printer
from detection.errors import PublishError
from detection.publish import LivePoster


class Candidate:
    def __init__(self, key: str) -> None:
        self.source_event_id = key

    def to_json(self) -> dict:
        return {"source": "detector:d1", "source_event_id": self.source_event_id}


def serve(answers: list[tuple[int, dict]], refuse: frozenset[str] = frozenset()):
    """A batch ingest answering the given (status, headers) in turn, then 200 for good with
    each candidate "new" the first time it is stored and "retry" after; ``seen`` holds each
    request's keys. A batch holding a key in ``refuse`` is answered 422, as the service
    refuses a whole batch for one bad candidate."""
    seen: list[list[str]] = []
    stored: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            keys = [c["source_event_id"] for c in body["candidates"]]
            seen.append(keys)
            status, headers = answers.pop(0) if answers else (200, {})
            if refuse & set(keys):
                status = 422
            out = b"{}"
            if status == 200:
                out = json.dumps({"results": [], "outcomes": [
                    "retry" if k in stored else "new" for k in keys]}).encode()
                stored.update(keys)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

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
                                      retries=6, backoff_s=0.5, sleep=waits.append,
                                      batch_size=1))
    finally:
        server.shutdown()
    assert [(c.source_event_id, status) for c, status in posted] == [("a", 201), ("b", 201)]
    assert seen == [["a"]] * 4 + [["b"]]  # three refusals of a, then a, then b once
    assert waits == [0.5, 1.0, 3.0]  # 0.5 s doubling, and the 429's own Retry-After


def test_a_long_clip_goes_in_batches_and_a_resent_batch_is_told_apart():
    # 250 candidates at 100 a batch: 100, 100, 50. The second batch is refused once (503,
    # nothing stored) and sent again whole; the clip posted a second time is 200 throughout
    # (every candidate a retry the service knows).
    server, url, seen = serve([(200, {}), (503, {})])
    keys = [f"k{i}" for i in range(250)]
    try:
        first = list(post_candidates(url, None, map(Candidate, keys), sleep=lambda s: None))
        again = list(post_candidates(url, None, map(Candidate, keys), sleep=lambda s: None))
    finally:
        server.shutdown()
    assert [len(batch) for batch in seen] == [100, 100, 100, 50, 100, 100, 50]
    assert seen[1] == seen[2] == keys[100:200]  # the refused batch, sent again whole
    assert [c.source_event_id for c, _ in first] == keys
    assert [status for _, status in first] == [201] * 250
    assert [status for _, status in again] == [200] * 250


def test_an_unreachable_service_is_tried_retries_times_then_named():
    waits: list[float] = []
    with pytest.raises(PublishError, match=r"cannot reach http://127\.0\.0\.1:9/api/v1/"
                                           r"candidates/batch after 3 tries"):
        list(post_candidates("http://127.0.0.1:9", None, [Candidate("a")], retries=3,
                             backoff_s=0.25, sleep=waits.append))
    assert waits == [0.25, 0.5]


def test_a_refused_candidate_is_named_and_not_sent_again(capsys):
    server, url, seen = serve([(422, {})])
    waits: list[float] = []
    try:
        posted = list(post_candidates(url, None, [Candidate("a")], sleep=waits.append))
    finally:
        server.shutdown()
    assert [(c.source_event_id, status) for c, status in posted] == [("a", 422)]
    assert seen == [["a"]] and waits == []
    assert "refused candidate a (number 0 of the run)" in capsys.readouterr().err


def test_one_refused_candidate_costs_only_itself():
    # the service refuses the batch [a, b, c] for b; sent one at a time, a and c land
    server, url, seen = serve([], refuse=frozenset({"b"}))
    try:
        posted = list(post_candidates(url, None, map(Candidate, "abc"), sleep=lambda s: None))
    finally:
        server.shutdown()
    assert seen == [["a", "b", "c"], ["a"], ["b"], ["c"]]
    assert [(c.source_event_id, status) for c, status in posted] == [
        ("a", 201), ("b", 422), ("c", 201)]


def test_a_wrong_token_is_not_one_candidates_fault_and_stops_the_run():
    server, url, seen = serve([(401, {})])
    try:
        with pytest.raises(PublishError, match="answered 401"):
            list(post_candidates(url, "stale", map(Candidate, "ab"), sleep=lambda s: None))
    finally:
        server.shutdown()
    assert seen == [["a", "b"]]


def test_progress_lines_say_how_far_into_the_clip():
    out = io.StringIO()
    report = progress_printer(every_wall_s=0.0, out=out)
    report(30.0, 120.0)
    report(45.0, None)  # a live feed: no end known
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("detect: 30 s of the clip read of 120 s (25 %), ")
    assert lines[1].startswith("detect: 45 s of the clip read, ")


def wait_for(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_live_rounds_go_at_most_every_every_s_and_close_sends_the_rest():
    server, url, seen = serve([])
    rounds: list[float] = []  # when each round began

    def timed_post(*args, **kw):
        rounds.append(time.monotonic())
        return post_candidates(*args, **kw)

    posted: list[tuple[str, int]] = []
    poster = LivePoster(url, None, every_s=0.3, backoff_s=0.01, post=timed_post,
                        on_posted=lambda c, status: posted.append((c.source_event_id, status)))
    try:
        with poster:
            poster.put(Candidate("a"))  # the first round goes at once
            wait_for(lambda: posted)
            poster.put(Candidate("b"))  # both within 0.3 s of the first round: one batch
            poster.put(Candidate("c"))
            wait_for(lambda: len(posted) == 3)
            poster.every_s = 3600.0  # the next round is an hour off: only close() sends d
            poster.put(Candidate("d"))
            closing = time.monotonic()
    finally:
        server.shutdown()
    assert seen == [["a"], ["b", "c"], ["d"]]
    assert posted == [("a", 201), ("b", 201), ("c", 201), ("d", 201)]
    assert rounds[1] - rounds[0] >= 0.3
    assert rounds[2] - closing < 1.0  # sent by close(), not after the hour


def test_a_live_round_that_fails_keeps_its_candidates_for_the_next(capsys):
    server, url, seen = serve([(503, {})])  # one refusal: with retries=1 the round fails
    posted: list[tuple[str, int]] = []
    try:
        with LivePoster(url, None, every_s=0.05, retries=1,
                        on_posted=lambda c, st: posted.append((c.source_event_id, st))) as p:
            p.put(Candidate("a"))
            wait_for(lambda: posted)
    finally:
        server.shutdown()
    assert seen == [["a"], ["a"]] and posted == [("a", 201)]
    assert "1 candidates kept for the next round, in 0.05 s" in capsys.readouterr().err


def test_a_live_poster_that_cannot_post_at_close_says_how_many_were_lost():
    poster = LivePoster("http://127.0.0.1:9", None, every_s=3600.0, retries=1)
    poster.start()
    poster.put(Candidate("a"))
    poster.put(Candidate("b"))
    with pytest.raises(PublishError, match=r"^2 candidates were not posted: cannot reach "):
        poster.close()


def test_a_live_refusal_no_retry_changes_stops_the_poster():
    server, url, seen = serve([(401, {})])  # a wrong token: no use sending again
    poster = LivePoster(url, "wrong", every_s=0.0, backoff_s=0.01)
    try:
        poster.start()
        poster.put(Candidate("a"))
        wait_for(lambda: not poster._thread.is_alive())
        with pytest.raises(PublishError, match="answered 401") as refused:
            poster.put(Candidate("b"))  # the pipeline stops here, the worker exits
        assert refused.value.status_code == 401
        with pytest.raises(PublishError, match="answered 401"):
            poster.close()
    finally:
        server.shutdown()
    assert seen == [["a"]]


def test_a_live_poster_leaves_out_a_refused_candidate_and_goes_on():
    server, url, seen = serve([], refuse=frozenset({"a"}))  # a's body is refused (422)
    answered: list[tuple[str, int]] = []
    poster = LivePoster(url, None, every_s=0.0, backoff_s=0.01,
                        on_posted=lambda c, status: answered.append((c.source_event_id, status)))
    try:
        poster.start()
        poster.put(Candidate("a"))
        wait_for(lambda: answered == [("a", 422)])
        poster.put(Candidate("b"))  # the worker goes on
        poster.close()
    finally:
        server.shutdown()
    assert answered == [("a", 422), ("b", 201)]
    assert seen == [["a"], ["b"]]


def test_a_live_poster_stopped_by_ctrl_c_still_sends_what_is_queued():
    server, url, seen = serve([])
    try:
        with pytest.raises(KeyboardInterrupt):
            with LivePoster(url, None, every_s=3600.0) as poster:
                poster.put(Candidate("a"))
                wait_for(lambda: seen)
                poster.put(Candidate("b"))  # held for the hour-long round...
                raise KeyboardInterrupt  # ... when the operator stops the worker
    finally:
        server.shutdown()
    assert seen == [["a"], ["b"]]
