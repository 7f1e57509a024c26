"""Login (OAuth2 password flow) and user administration."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api.core import users
from api.core.auth import create_token
from api.core.db import writing
from api.core.throttle import LoginThrottle, LoginThrottled
from api.core.schemas import Token, UserIn, UserPublic
from api.routes import errors
from api.routes.deps import Allowed, SessionDep, SettingsDep, Unauthorized

log = logging.getLogger("flyonce.api.auth")

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=Token, responses=errors.responses(429),
             summary="Log in; returns a bearer token (429 after too many failures)")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request,
          session: SessionDep, settings: SettingsDep) -> Token:
    throttle: LoginThrottle = request.app.state.login_throttle
    client = request.client.host if request.client else "unknown"
    try:
        throttle.check(form.username, client)
    except LoginThrottled as exc:
        request.app.state.monitor.throttled.labels(exc.scope).inc()
        log.warning("login throttled for %r from %s", form.username, client)
        raise
    user = users.authenticate(session, form.username, form.password)
    if user is None:
        throttle.failed(form.username, client)
        raise Unauthorized("wrong username or password")
    throttle.succeeded(form.username)
    token = create_token(user.username, user.role, secret=settings.resolved_secret_key(),
                         ttl_s=settings.token_ttl_s)
    return Token(access_token=token, role=user.role, username=user.username, team_id=user.team_id)


@router.get("/auth/me", response_model=UserPublic, summary="Who the token belongs to")
def me(user: Allowed) -> UserPublic:
    return UserPublic.model_validate(user)


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED,
             summary="Create a user (admin)")
def create_user(body: UserIn, _admin: Allowed, session: SessionDep) -> UserPublic:
    with writing(session):
        user = users.add_user(session, body.username, body.password, body.role, team_id=body.team_id,
                              department=body.department)
    return UserPublic.model_validate(user)


@router.get("/users", response_model=list[UserPublic], summary="List users (admin)")
def list_users(_admin: Allowed, session: SessionDep) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in users.all_users(session)]
