"""The deployment files (compose.yaml, Dockerfile, deploy/) say what the code does.

No container is built here (CI has no Docker daemon): what can be checked without one is.
- compose.yaml parses, has the services of docs/deployment.md, and every FLYONCE_* variable
  it sets is a real setting (or the detection worker's token), with values the settings
  accept once compose's ${...} are filled in;
- the Dockerfile copies what exists and installs torch at the versions pyproject.toml pins;
- the image's Python environment is CI's: both install with requirements.lock as constraints,
  and the environment these tests run in holds exactly what the lock pins (the image's
  environment, built where no Docker daemon runs);
- the systemd units run commands and options the CLI has.
The two-replica layout itself runs as real processes in tests/api/test_leader.py.
"""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from api.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
# Not a service setting: `flyonce detect --token` reads it (detection/cli.py).
CLI_ENV = {"FLYONCE_API_TOKEN"}
SERVICES = {"postgres", "redis", "serve-1", "serve-2", "proxy", "detect", "sim"}


def _fill(value: str) -> str:
    """compose's interpolation with the .env absent: defaults used, required ones made up."""
    value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "x" * 48, value)


def test_compose_has_the_layout() -> None:
    services = COMPOSE["services"]
    assert set(services) == SERVICES
    assert services["serve-1"] == services["serve-2"]  # two replicas of one definition
    assert services["sim"]["profiles"] == ["sim"]  # the simulated fleet only when asked for
    serve = services["serve-1"]
    assert serve["command"][:2] == ["flyonce", "serve"]
    assert serve["healthcheck"]["test"][-1].endswith("/readyz")
    assert {"postgres", "redis"} <= set(serve["depends_on"])


def test_every_flyonce_variable_is_a_setting() -> None:
    fields = {f"FLYONCE_{name.upper()}" for name in Settings.model_fields}
    for name, service in COMPOSE["services"].items():
        for key in service.get("environment") or {}:
            if key.startswith("FLYONCE_"):
                assert key in fields | CLI_ENV, f"{name}: {key} is no setting"
    assert 'envvar="FLYONCE_API_TOKEN"' in (ROOT / "detection" / "cli.py").read_text()


def test_the_replicas_settings_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: _fill(str(v)) for k, v in COMPOSE["services"]["serve-1"]["environment"].items()}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)
    assert settings.database_url.startswith("postgresql+psycopg://flyonce:")
    assert settings.redis_url == "redis://redis:6379/0"
    assert (settings.log_format, settings.base_map, settings.auto_assign) == ("json", "amap", True)
    assert settings.webhook_urls == [] and settings.webhook_secret is None  # empty: unset


def test_the_dockerfile_installs_the_pinned_cpu_torch() -> None:
    text = (ROOT / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (\S+) ", text, flags=re.M):
        assert (ROOT / source).exists(), source
    snippet = re.search(r"RUN python - <<'PY' > /tmp/torch.txt\n(.*?)\nPY\n", text, re.S)[1]
    pins = subprocess.run([sys.executable, "-c", snippet], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.split()
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert pins == [d for d in deps if d.startswith(("torch==", "torchvision=="))]
    assert len(pins) == 2
    assert "--index-url \"$TORCH_INDEX\" -r /tmp/torch.txt" in text
    assert "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in text


def test_the_systemd_units_run_real_commands() -> None:
    from typer.main import get_command

    from api.cli import app

    cli = get_command(app)
    for unit in (ROOT / "deploy" / "systemd").glob("*.service"):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read(unit)
        words = parser["Service"]["ExecStart"].split()
        assert words[0].endswith("/flyonce"), unit
        command = cli.commands[words[1]]
        options = {o for p in command.params for o in p.opts}
        assert {w for w in words[2:] if w.startswith("--")} <= options, unit


def test_the_image_and_ci_install_from_one_lock_and_this_environment_is_it() -> None:
    sys.path.insert(0, str(ROOT / "deploy"))
    try:
        import lock
    finally:
        sys.path.remove(str(ROOT / "deploy"))
    locked = lock.read()
    # the lock pins every run-time dependency pyproject.toml names, within its bounds
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    for line in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in locked, f"{name} is not in requirements.lock: run deploy/lock.py"
        assert req.specifier.contains(locked[name], prereleases=True), (name, locked[name])
    # what make install built here (as CI does) is what the lock says, nothing more or less
    assert lock.differences(locked, lock.closure()) == []
    text = (ROOT / "Dockerfile").read_text()
    assert "RUN pip install -c requirements.lock ." in text
    assert re.search(r"^COPY .*requirements\.lock", text, flags=re.M)
    assert "-c requirements.lock" in (ROOT / "Makefile").read_text()
