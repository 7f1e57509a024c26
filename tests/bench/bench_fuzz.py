"""Schemathesis over the API with each role's token and none: one JSON line of figures.

    PYTHONPATH=. python tests/bench/bench_fuzz.py [max_examples]

Per phase (generated examples per operation; stateful sequences that feed one answer's ids to
the next) and role: cases sent, server errors (any 5xx but the declared "no fleet" 503: the fuzzed service
has no fleet), and check failures by schemathesis check. Same run as tests/api/test_fuzz.py.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from tests.api.conftest import TEST_SECRET
from tests.api.test_fuzz import (
    STATEFUL_EXAMPLES,
    STATEFUL_STEPS,
    fuzz,
    fuzz_app,
    fuzz_stateful,
    role_headers,
)


def main(max_examples: int = 12) -> dict:
    result: dict = {"bench": "fuzz", "max_examples": max_examples}
    for phase in ("examples", "stateful"):
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp, fuzz_app(Path(tmp)) as app:
            if phase == "examples":
                figures = fuzz(app, role_headers(TEST_SECRET), max_examples=max_examples)
            else:
                figures = fuzz_stateful(app, role_headers(TEST_SECRET),
                                        max_examples=STATEFUL_EXAMPLES, steps=STATEFUL_STEPS)
        result[phase] = {
            "wall_s": round(time.perf_counter() - started, 1),
            "cases": sum(f.cases for f in figures.values()),
            "server_errors": sum(f.server_errors for f in figures.values()),
            "roles": {role: f.as_json() for role, f in figures.items()},
        }
    return result


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 12), ensure_ascii=False))
