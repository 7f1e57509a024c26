"""requirements.lock: every distribution flyonce needs at run time, pinned.

    .venv/bin/python deploy/lock.py           # write requirements.lock from this environment
    .venv/bin/python deploy/lock.py --check   # exit 1, naming the differences, if it is stale

The lock holds the closure of pyproject.toml's ``dependencies`` (no extras), each at the
version installed in the environment that runs this. ``make install`` installs with it as pip
constraints, and so does the Dockerfile (with torch and torchvision from PyTorch's CPU index:
``torch==2.14.1`` also matches ``2.14.1+cpu``), so the image and every CI run get the same
versions, and CI's environment is the image's, built where no Docker daemon runs. After a change
to the dependencies: ``make install`` (it installs the new ones), then this script.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
HEADER = ("# flyonce's run-time dependencies, pinned (deploy/lock.py writes it; make install and "
          "the Dockerfile\n# install with it as constraints). Do not edit by hand.\n")


def closure(root: str = "flyonce") -> dict[str, str]:
    """{canonical name: installed version} of ``root``'s run-time requirements, recursively,
    with the extras each requirement asks for and the markers of this platform."""
    pins: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    done: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in done:
            continue
        done.add((name, extras))
        dist = metadata.distribution(name)
        if name != root:
            pins[name] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            wanted = [""] + sorted(extras)
            if req.marker is not None and not any(req.marker.evaluate({"extra": e})
                                                  for e in wanted):
                continue
            todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    return dict(sorted(pins.items()))


def render(pins: dict[str, str]) -> str:
    return HEADER + "".join(f"{name}=={version}\n" for name, version in pins.items())


def read(path: Path = LOCK) -> dict[str, str]:
    """The lock's {canonical name: version}."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def differences(locked: dict[str, str], installed: dict[str, str]) -> list[str]:
    """What tells the lock from the environment, one line each (empty: they agree)."""
    out = []
    for name in sorted(locked.keys() | installed.keys()):
        have, want = installed.get(name), locked.get(name)
        if have != want:
            out.append(f"{name}: locked {want or 'not at all'}, installed {have or 'not at all'}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the lock with this environment instead of writing it")
    args = parser.parse_args()
    pins = closure()
    if not args.check:
        LOCK.write_text(render(pins))
        print(f"wrote {LOCK.name}: {len(pins)} distributions")
        return 0
    diff = differences(read(), pins)
    for line in diff:
        print(line, file=sys.stderr)
    if diff:
        print("requirements.lock is stale: run make install, then python deploy/lock.py",
              file=sys.stderr)
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
