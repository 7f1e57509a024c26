"""Login (OAuth2 password flow) and user administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from api.core import users
from api.core.auth import create_token
from api.core.db import writing
from api.core.schemas import Token, UserIn, UserPublic
from api.routes.deps import Allowed, SessionDep, SettingsDep, Unauthorized

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=Token, summary="Log in; returns a bearer token")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep,
          settings: SettingsDep) -> Token:
    user = users.authenticate(session, form.username, form.password)
    if user is None:
        raise Unauthorized("wrong username or password")
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
