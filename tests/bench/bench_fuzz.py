"""Schemathesis over the API with each role's token and none: one JSON line of figures.

    PYTHONPATH=. python tests/bench/bench_fuzz.py [max_examples]

Per role: cases sent, server errors (any 5xx but the declared "no fleet" 503: the fuzzed service
has no fleet), and check failures by schemathesis check. Same run as tests/api/test_fuzz.py.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from tests.api.conftest import TEST_SECRET
from tests.api.test_fuzz import fuzz, fuzz_app, role_headers


def main(max_examples: int = 12) -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, fuzz_app(Path(tmp)) as app:
        figures = fuzz(app, role_headers(TEST_SECRET), max_examples=max_examples)
    return {
        "bench": "fuzz", "max_examples": max_examples,
        "wall_s": round(time.perf_counter() - started, 1),
        "cases": sum(f.cases for f in figures.values()),
        "server_errors": sum(f.server_errors for f in figures.values()),
        "roles": {role: f.as_json() for role, f in figures.items()},
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 12), ensure_ascii=False))
