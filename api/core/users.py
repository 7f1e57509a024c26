"""Accounts: creation with a hashed password, and authentication."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlmodel import Session, select

from api.core.auth import Role, hash_password, verify_password
from api.core.errors import BadInput, Conflict
from api.core.models import GroundTeam, User

# Verifying against a real hash when the user is unknown keeps login time from telling names apart.
_DUMMY_HASH = hash_password("flyonce-timing-guard")


def add_user(session: Session, username: str, password: str, role: str, *,
             team_id: str | None = None, department: str | None = None) -> User:
    """Create and commit a user; Conflict if the name is taken, BadInput for a bad role or team.

    A ``department`` account (files patrol requests) needs the department it files for.
    """
    try:
        role = Role(role).value
    except ValueError as exc:
        raise BadInput(f"unknown role '{role}'; use one of: {', '.join(r.value for r in Role)}") from exc
    if role == Role.GROUND_TEAM and not team_id:
        raise BadInput("a ground_team user needs --team (the team it belongs to)")
    if role == Role.DEPARTMENT and not (department and department.strip()):
        raise BadInput("a department user needs --department (the department it files patrol "
                       "requests for, e.g. 市场监管)")
    if department and role != Role.DEPARTMENT:
        raise BadInput(f"--department is only for department users, not '{role}'")
    if team_id and session.get(GroundTeam, team_id) is None:
        raise BadInput(f"no ground team '{team_id}'; create it first")
    if session.exec(select(User).where(User.username == username)).first():
        raise Conflict(f"user '{username}' already exists")
    # Account creation is an administrative act on wall time, not mission time.
    user = User(username=username, password_hash=hash_password(password), role=role,
                team_id=team_id, department=department.strip() if department else None,
                created_at=datetime.now(UTC))
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        verify_password(password, _DUMMY_HASH)
        return None
    if user.disabled or not verify_password(password, user.password_hash):
        return None
    return user


def all_users(session: Session) -> Sequence[User]:
    """Every account, by id."""
    return session.exec(select(User).order_by(User.id)).all()
