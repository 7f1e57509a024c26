"""The architecture holds: package rules (../shared/ARCHITECTURE.md) and the rooms of api/.

The rules are import-linter contracts in pyproject.toml; this runs them on the real tree, and
checks that every room of api/ is named by a rule, so a new room cannot slip in unruled.
"""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import api

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
# Entry points and the demo stand outside the layers: they may import any room (and simulators).
OUTSIDE_LAYERS = {"__main__", "app", "main", "cli", "demo"}


def _contracts() -> list[dict]:
    return CONFIG["contracts"]


def test_every_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"  # import-linter's own command
    run = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    report = run.stdout + run.stderr
    counts = re.search(r"Contracts: (\d+) kept, (\d+) broken", report)
    assert counts is not None, report
    assert (int(counts[1]), int(counts[2])) == (len(_contracts()), 0), report
    assert run.returncode == 0, report


def test_every_room_of_api_is_in_the_layers() -> None:
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    layered = {name.strip().removeprefix("api.") for layer in layers for name in layer.split("|")}
    rooms = {m.name for m in pkgutil.iter_modules(api.__path__)}
    assert rooms - layered - OUTSIDE_LAYERS == set(), "a room of api/ that no layer names"
    # and the layers name only rooms that exist
    assert layered <= rooms


def test_each_room_states_its_rule() -> None:
    for module in pkgutil.iter_modules(api.__path__):
        if not module.ispkg:
            continue
        init = Path(api.__path__[0]) / module.name / "__init__.py"
        doc = init.read_text(encoding="utf-8").lstrip()
        assert doc.startswith('"""') and len(doc.split('"""')[1].strip()) > 40, init
