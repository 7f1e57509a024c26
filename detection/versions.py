"""Model versions: a weights file is known by its content hash, and a models folder keeps a
manifest (``models.json``) of every version promoted there and which one is current.

A version id is the first 12 hex digits of the ``.pt`` file's SHA-256: the detector computes it
from the file it loaded, so a candidate says which weights found it without anyone having to
name them, and two copies of one file are one version.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from detection.errors import WeightsError

MANIFEST = "models.json"
CURRENT_PT = "current.pt"
VERSION_HEX = 12  # 48 bits: no two weights files of one city collide


def file_sha256(path: Path | str) -> str:
    """The SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def version_of(path: Path | str) -> str:
    """The version id of a weights file: its SHA-256's first 12 hex digits."""
    return file_sha256(path)[:VERSION_HEX]


@dataclass(frozen=True)
class ModelVersion:
    """One promoted weights file: its hash, when, from what, and the figures it was let in on."""

    version: str
    sha256: str
    file: str  # relative to the models folder
    created_at: str  # ISO 8601, UTC
    parent: str | None = None  # the version it was fine-tuned from
    figures: dict = field(default_factory=dict)
    note: str = ""


class ModelRegistry:
    """The models folder: ``models.json`` (every version, the current one) and the files.

    An empty or missing folder falls back to ``shipped`` (the package's weights) as the current
    model, so a fresh install needs nothing set up; the first promotion copies into the folder
    and never touches the shipped file.
    """

    def __init__(self, models_dir: Path | str, shipped: Path | str):
        self.dir = Path(models_dir)
        self.shipped = Path(shipped)

    # -- reading ---------------------------------------------------------------------------
    def _manifest(self) -> dict:
        path = self.dir / MANIFEST
        if not path.is_file():
            return {"current": None, "versions": []}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WeightsError(f"the model manifest {path} is unreadable: {exc}") from exc
        data.setdefault("current", None)
        data.setdefault("versions", [])
        return data

    def versions(self) -> list[ModelVersion]:
        """Every promoted version, oldest first."""
        return [ModelVersion(**v) for v in self._manifest()["versions"]]

    def current_weights(self) -> Path:
        """The ``.pt`` the detector should load now: the promoted current one, else shipped."""
        current = self._manifest()["current"]
        for v in self.versions():
            if v.version == current:
                path = self.dir / v.file
                if not path.is_file():
                    raise WeightsError(f"the current model {current} should be at {path}, but "
                                       "that file is missing; promote a model again")
                return path
        return self.shipped

    def current_version(self) -> str:
        return version_of(self.current_weights())

    # -- writing ---------------------------------------------------------------------------
    def promote(self, weights: Path | str, *, now: datetime, figures: dict | None = None,
                parent: str | None = None, note: str = "") -> ModelVersion:
        """Copy ``weights`` into the folder under its version, record it, and make it current.
        The manifest is replaced atomically (temp file, then rename)."""
        weights = Path(weights)
        if not weights.is_file():
            raise WeightsError(f"no weights at {weights}")
        sha = file_sha256(weights)
        version = sha[:VERSION_HEX]
        self.dir.mkdir(parents=True, exist_ok=True)
        rel = f"flyonce-yolo-{version}.pt"
        target = self.dir / rel
        if not target.exists():
            shutil.copyfile(weights, target)
        data = self._manifest()
        if not data["versions"] and self.shipped.is_file():
            # the shipped weights are version zero: the lineage starts from them
            shipped_sha = file_sha256(self.shipped)
            data["versions"].append(asdict(ModelVersion(
                shipped_sha[:VERSION_HEX], shipped_sha, os.path.relpath(self.shipped, self.dir),
                created_at=now.isoformat(), note="shipped weights")))
        entry = ModelVersion(version, sha, rel, now.isoformat(), parent, dict(figures or {}), note)
        data["versions"] = [v for v in data["versions"] if v["version"] != version] + [asdict(entry)]
        data["current"] = version
        fd, tmp = tempfile.mkstemp(dir=self.dir, suffix=".part")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
        os.replace(tmp, self.dir / MANIFEST)
        return entry
