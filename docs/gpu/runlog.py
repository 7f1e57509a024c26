"""What the device scripts print and keep: timestamped lines on stdout and in ``OUT/log.txt``
(what comes back from the device even when the call is cut short), and rendering progress at
most every 10 s."""

from __future__ import annotations

import time
from pathlib import Path


class RunLog:
    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self._file = (out / "log.txt").open("a")
        self.t0 = time.time()
        self._last = 0.0

    def elapsed_s(self) -> float:
        return time.time() - self.t0

    def say(self, msg: str) -> None:
        line = f"[{self.elapsed_s():7.1f} s] {msg}"
        print(line, flush=True)
        self._file.write(line + "\n")
        self._file.flush()

    def progress(self, split: str, done: int, total: int) -> None:
        """A ``progress`` callback for the dataset exporters."""
        if time.time() - self._last > 10 or done == total:
            self._last = time.time()
            self.say(f"render {split}: {done}/{total} frames")
