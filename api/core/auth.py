"""Passwords (argon2 through pwdlib), signed login tokens (JWT) and roles."""

from __future__ import annotations

import functools
import time
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
    """The token's claims; raises jwt.InvalidTokenError when forged, malformed or expired.

    A token that verified once is not verified again (a detector posts with one token hundreds
    of times a second, and each request read it twice: its signature and base64 were a tenth of
    a request's CPU); its expiry is checked on every use all the same.
    """
    claims, expires = _verified(token, secret)
    if expires is not None and time.time() >= expires:
        raise jwt.ExpiredSignatureError("Signature has expired")
    return dict(claims)


@functools.lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> tuple[dict, float | None]:
    # Only tokens that verify get here (a raise is not cached); the claims are copied on the way out.
    claims = jwt.decode(token, secret, algorithms=[ALGORITHM])
    return claims, claims.get("exp")
