"""A login token is verified once, but its expiry is checked on every use (api/core/auth.py)."""

from __future__ import annotations

import time

import jwt
import pytest

from api.core import auth

SECRET = "token-cache-secret-0123456789abcdef0123456789"


def test_a_verified_token_reads_the_same_claims_and_a_caller_cannot_change_them() -> None:
    token = auth.create_token("op", "operator", secret=SECRET, ttl_s=600)
    first = auth.decode_token(token, secret=SECRET)
    first["role"] = "admin"  # a caller scribbling on its copy
    again = auth.decode_token(token, secret=SECRET)
    assert (again["sub"], again["role"]) == ("op", "operator")


def test_a_token_verified_while_valid_is_refused_once_it_expires(monkeypatch) -> None:
    token = auth.create_token("det", "detector", secret=SECRET, ttl_s=60)
    assert auth.decode_token(token, secret=SECRET)["sub"] == "det"  # verified, remembered
    real = time.time
    monkeypatch.setattr(auth.time, "time", lambda: real() + 61)
    with pytest.raises(jwt.ExpiredSignatureError):
        auth.decode_token(token, secret=SECRET)


def test_a_remembered_token_is_no_key_to_another_secret() -> None:
    token = auth.create_token("adm", "admin", secret=SECRET, ttl_s=600)
    auth.decode_token(token, secret=SECRET)
    with pytest.raises(jwt.InvalidSignatureError):
        auth.decode_token(token, secret=SECRET[::-1])
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(jwt.InvalidTokenError):
        auth.decode_token(forged, secret=SECRET)
