"""The `flyonce` command line: creating users and migrating, as a person would run them."""

from __future__ import annotations

import html
import json

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from api.core import db
from api.core.auth import verify_password
from api.core.models import User


def flyonce(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "FLYONCE_DATA_DIR": str(data_dir)}
    env.pop("FLYONCE_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "api", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_users_add_stores_a_hashed_password(tmp_path: Path) -> None:
    done = flyonce("users", "add", "alice", "--role", "operator", "--password", "s3cret-pass", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "created user alice (operator)" in done.stdout
    engine = db.create_db_engine(f"sqlite:///{tmp_path / 'flyonce.db'}")
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "alice")).one()
        assert user.role == "operator" and user.password_hash != "s3cret-pass"
        assert verify_password("s3cret-pass", user.password_hash)
    engine.dispose()


def test_users_add_explains_a_bad_role(tmp_path: Path) -> None:
    done = flyonce("users", "add", "bob", "--role", "pilot", "--password", "s3cret-pass", data_dir=tmp_path)
    assert done.returncode == 2
    assert "unknown role 'pilot'" in done.stderr and "operator" in done.stderr


def test_report_writes_an_html_file(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    done = flyonce("report", "--out", str(out), data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "report on 0 events" in done.stdout
    assert out.read_text().startswith("<!doctype html>")
    # The regulated sites' figures travel in the page as JSON: none yet in an empty database.
    embedded = out.read_text().split("id='site-figures'>")[1].split("</script>")[0]
    figures = json.loads(html.unescape(embedded))
    assert (figures["site_visits"], figures["non_site_looks"], figures["share_non_site"]) == \
        (0, 0, None)


def test_report_refuses_a_time_without_zone(tmp_path: Path) -> None:
    done = flyonce("report", "--since", "2026-11-25T08:00:00", data_dir=tmp_path)
    assert done.returncode == 2 and "needs a timezone" in done.stderr
