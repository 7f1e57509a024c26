"""Passwords (argon2 through pwdlib), signed login tokens (JWT) and roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt
from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()
ALGORITHM = "HS256"


class Role(StrEnum):
    OPERATOR = "operator"
    GROUND_TEAM = "ground_team"
    EVALUATOR = "evaluator"
    ADMIN = "admin"
    # A machine account for detection workers: may post candidates and nothing else.
    DETECTOR = "detector"
    # A department (市场监管, 应急管理 …) that files patrol requests and reads what they found.
    DEPARTMENT = "department"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)


def create_token(username: str, role: str, *, secret: str, ttl_s: int) -> str:
    """A signed bearer token naming the user and role; expires after `ttl_s` of wall time."""
    # Expiry is a security property, so it follows the wall clock even in simulation.
    now = datetime.now(UTC)
    payload = {"sub": username, "role": role, "iat": now, "exp": now + timedelta(seconds=ttl_s)}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_token(token: str, *, secret: str) -> dict:
    """The token's claims; raises jwt.InvalidTokenError when forged, malformed or expired."""
    return jwt.decode(token, secret, algorithms=[ALGORITHM])
