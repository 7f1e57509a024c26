"""Candidates to the service: in batches once a clip ends (``post_candidates``), or as they
qualify while a live stream is read (``LivePoster``); a run's figures (``post_report``).

httpx loads inside the functions, so ``flyonce``'s other commands start without it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

from detection.candidate import EventCandidate
from detection.errors import PublishError

# Worth another try: the service is starting, restarting, or shedding load.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Candidates per POST /candidates/batch (the service takes up to 500): a long clip's hundreds
# of findings cost a few requests and commits, not one each.
POST_BATCH = 100


def post_candidates(api: str, token: str | None, candidates, timeout_s: float = 10.0, *,
                    retries: int = 6, backoff_s: float = 0.5, sleep=None,
                    batch_size: int = POST_BATCH):
    """POST the candidates to ``{api}/api/v1/candidates/batch``, ``batch_size`` at a time (one
    request and one commit per batch, not per candidate); yields (candidate, HTTP status) in
    order, 201 for a new event, 200 for one the service knew (merged, or a retry), and 422 for
    one the service refused (its body: a position out of range, a snapshot that is no image).

    Each candidate is idempotent on its source_event_id, so a batch whose answer was lost can be
    sent again safely: a network error or a 429/502/503/504 is tried up to ``retries`` times,
    waiting ``backoff_s`` and doubling (a Retry-After is obeyed, up to 30 s). A batch refused
    with 422 is sent again one candidate at a time, so one bad candidate costs only itself: it
    is yielded with 422 and a warning naming it and the service's reason, and the others land.
    Any other answer, or the last failure, raises PublishError.
    """
    import httpx

    sleep = sleep or time.sleep
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = api.rstrip("/") + "/api/v1/candidates/batch"
    candidates = list(candidates)
    with httpx.Client(timeout=timeout_s, headers=headers) as client:
        for first in range(0, len(candidates), batch_size):
            yield from _send(client, url, candidates[first:first + batch_size], first,
                             retries=retries, backoff_s=backoff_s, sleep=sleep)


def _send(client, url: str, batch: list, first: int, *, retries: int, backoff_s: float,
          sleep) -> list[tuple[EventCandidate, int]]:
    """One batch to the service, with ``post_candidates``' retries; [(candidate, status)]."""
    import httpx

    wait_s = backoff_s
    for attempt in range(1, retries + 1):
        last, pause = attempt == retries, wait_s
        try:
            r = client.post(url, json={"candidates": [c.to_json() for c in batch]})
        except httpx.HTTPError as exc:
            if last:
                raise PublishError(f"cannot reach {url} after {retries} tries: {exc}") from exc
            print(f"warning: {url}: {exc}; trying again in {wait_s:g} s", file=sys.stderr)
        else:
            if r.status_code == 200:
                return [(c, 201 if outcome == "new" else 200)
                        for c, outcome in zip(batch, r.json()["outcomes"], strict=True)]
            if r.status_code == 422 and len(batch) == 1:
                print(f"warning: {url} refused candidate {batch[0].source_event_id} (number "
                      f"{first} of the run): {r.text[:300]}; it is left out", file=sys.stderr)
                return [(batch[0], 422)]
            if r.status_code == 422:
                print(f"warning: {url} refused a batch of {len(batch)}: {r.text[:300]}; "
                      f"sending them one at a time", file=sys.stderr)
                return [sent for i, c in enumerate(batch)
                        for sent in _send(client, url, [c], first + i, retries=retries,
                                          backoff_s=backoff_s, sleep=sleep)]
            if r.status_code not in RETRY_STATUSES or last:
                tries = f" (try {attempt} of {retries})" if attempt > 1 else ""
                where = f" (candidates {first}-{first + len(batch) - 1} of the run)"
                raise PublishError(f"{url} answered {r.status_code}{tries}{where}: "
                                   f"{r.text[:300]}", status_code=r.status_code)
            pause = _retry_after(r, wait_s)
            print(f"warning: {url} answered {r.status_code}; trying again in "
                  f"{pause:g} s", file=sys.stderr)
        sleep(pause)
        wait_s *= 2
    raise AssertionError("unreachable: the last try returns or raises")


def _retry_after(response, default_s: float) -> float:
    """The response's Retry-After in seconds (at most 30), else ``default_s``."""
    try:
        return min(30.0, max(0.0, float(response.headers.get("Retry-After", ""))))
    except ValueError:
        return default_s


def post_report(api: str, token: str | None, source: str, stats: dict, *,
                timeout_s: float = 10.0, client=None) -> dict:
    """POST a run's figures (frames in, used, skipped by reason, seconds) to
    ``{api}/api/v1/detection/reports``, where /metrics shows them; the service's answer."""
    import httpx

    body = {"source": source, "frames_in": stats["frames_in"], "frames_used": stats["frames_used"],
            "skipped": stats["skipped"], "total_s": stats["total_s"]}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = api.rstrip("/") + "/api/v1/detection/reports"
    own = client is None
    client = client or httpx.Client(timeout=timeout_s)
    try:
        r = client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise PublishError(f"cannot reach {url}: {exc}") from exc
    finally:
        if own:
            client.close()
    if r.status_code != 200:
        raise PublishError(f"{url} answered {r.status_code}: {r.text[:300]}",
                           status_code=r.status_code)
    return r.json()


class LivePoster:
    """Posts candidates while a source is still read: ``put()`` queues one (the pipeline's
    ``on_candidate``), a background thread sends what has queued up as one
    ``post_candidates`` call, at most every ``every_s`` seconds of wall time (the first one at
    once), and ``close()`` stops the thread and sends what is left.

    No candidate is dropped: a round that fails after its retries (the service down, or busy)
    puts the unsent candidates back and they go with the next round, ``every_s`` later; only
    ``close()``'s last round raises PublishError, naming how many were not posted. A candidate
    the service refuses (422, its body) is left out with a warning and ``on_posted(c, 422)``,
    and the others go on (``post_candidates``). A refusal that no retry will change and that
    is not one candidate's (another 4xx than 422 and 429: a wrong or expired token) stops the
    poster; the next ``put()`` and ``close()`` raise it, so a worker does not run on posting
    nothing. ``on_posted(candidate, status)`` is called from the thread, in order.
    """

    def __init__(self, api: str, token: str | None, *, every_s: float = 1.0, retries: int = 6,
                 backoff_s: float = 0.5,
                 on_posted: Callable[[EventCandidate, int], None] | None = None,
                 post=post_candidates):
        if every_s < 0:
            raise ValueError(f"every_s must be 0 or more, got {every_s}")
        self.api, self.token, self.every_s = api, token, every_s
        self.retries, self.backoff_s = retries, backoff_s
        self.on_posted, self._post = on_posted, post
        self.posted = 0
        self._queue: list[EventCandidate] = []
        self._cond = threading.Condition()
        self._closing = False
        self._fatal: PublishError | None = None
        self._last_round = -float("inf")
        self._thread = threading.Thread(target=self._loop, name="flyonce-live-poster",
                                        daemon=True)

    def __enter__(self) -> LivePoster:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self) -> None:
        """Start the background thread."""
        self._thread.start()

    def put(self, candidate: EventCandidate) -> None:
        """Queue one candidate for the next round; raises the poster's PublishError once the
        service has refused in a way no retry changes."""
        with self._cond:
            if self._fatal is not None:
                raise self._fatal
            self._queue.append(candidate)
            self._cond.notify()

    def close(self) -> None:
        """Stop the thread after its round in flight, then send what is left; raises
        PublishError when that last round fails or the service refused for good."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join()
        if self._fatal is not None:
            raise self._fatal
        with self._cond:
            left, self._queue = self._queue, []
        if left:
            failure = self._round(left)
            if failure is not None:
                with self._cond:
                    unsent = len(self._queue)
                raise PublishError(f"{unsent} candidates were not posted: {failure}",
                                   status_code=failure.status_code) from failure

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closing or self._queue)
                # throttle: a round at most every every_s; closing hands the rest to close()
                while not self._closing:
                    wait_s = self._last_round + self.every_s - time.monotonic()
                    if wait_s <= 0:
                        break
                    self._cond.wait(wait_s)
                if self._closing:
                    return
                batch, self._queue = self._queue, []
            failure = self._round(batch)  # the network outside the lock: put() never waits
            if failure is not None and failure.status_code is not None \
                    and 400 <= failure.status_code < 500 and failure.status_code != 429:
                with self._cond:
                    self._fatal = failure
                return
            if failure is not None:
                with self._cond:
                    kept = len(self._queue)
                print(f"warning: {failure}; {kept} candidates kept for the next round, in "
                      f"{self.every_s:g} s", file=sys.stderr, flush=True)

    def _round(self, batch: list[EventCandidate]) -> PublishError | None:
        """Send ``batch``; on failure put what was not sent back first in the queue."""
        self._last_round = time.monotonic()
        sent: set[str] = set()
        try:
            for c, status in self._post(self.api, self.token, batch, retries=self.retries,
                                        backoff_s=self.backoff_s):
                sent.add(c.source_event_id)
                self.posted += 1
                if self.on_posted is not None:
                    self.on_posted(c, status)
        except PublishError as exc:
            with self._cond:
                self._queue[:0] = [c for c in batch if c.source_event_id not in sent]
            return exc
        return None
