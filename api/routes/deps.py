"""Dependencies for routes, as `Annotated` aliases so a route's signature reads like a sentence."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.core.auth import Role, decode_token
from api.core.bus import AlertBus
from api.core.clock import Clock
from api.core.errors import Forbidden, ServiceError
from api.core.models import User
from api.core.settings import Settings
from api.core.zones import ZoneIndex
from api.routes.access import Scope, rule_for

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


class Unauthorized(ServiceError):
    status_code = 401


# Dependencies that only read app state are `async def`: FastAPI would run a plain `def` in the
# threadpool, a thread hop per dependency per request for a mere attribute read.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    # Making a Session does no I/O; closing may (a rollback), so only then does it go to a
    # thread.
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction():  # a rollback and a connection back to the pool: I/O
            await run_in_threadpool(session.close)
        else:  # the route committed: nothing left to do but forget the objects
            session.close()


async def get_clock(request: Request) -> Clock:
    return request.app.state.clock


async def get_bus(request: Request) -> AlertBus:
    return request.app.state.bus


async def get_zones(request: Request) -> ZoneIndex:
    return request.app.state.zones


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
BusDep = Annotated[AlertBus, Depends(get_bus)]
ZonesDep = Annotated[ZoneIndex, Depends(get_zones)]
TokenDep = Annotated[str, Depends(oauth2_scheme)]


# Accounts change rarely and every request needs one: a short cache spares a query per request,
# at the cost of a disabled account keeping access for at most this long.
USER_CACHE_TTL_S = 5.0
_user_cache: dict[str, tuple[float, User]] = {}


def _username_of(settings: Settings, token: str) -> str:
    try:
        claims = decode_token(token, secret=settings.resolved_secret_key())
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("your login has expired; log in again") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("invalid token; log in at /api/v1/auth/token") from exc
    return str(claims.get("sub"))


def _cached_user(engine: object, username: str) -> User | None:
    cached = _user_cache.get(f"{id(engine)}:{username}")
    if cached is not None and time.monotonic() - cached[0] < USER_CACHE_TTL_S:
        return cached[1]
    return None


def user_from_token(session: Session, settings: Settings, token: str) -> User:
    """The active user a bearer token names; Unauthorized when it is invalid or expired."""
    username = _username_of(settings, token)
    engine = session.get_bind()
    user = _cached_user(engine, username)
    if user is not None:
        return user
    key = f"{id(engine)}:{username}"
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or user.disabled:
        _user_cache.pop(key, None)
        raise Unauthorized("this account no longer exists or is disabled")
    session.expunge(user)
    session.commit()  # end the read: no transaction is held between dependency and route
    _user_cache[key] = (time.monotonic(), user)
    return user


async def get_current_user(request: Request, settings: SettingsDep, token: TokenDep) -> User:
    """The user of the bearer token: from the cache on the loop, else looked up in a thread."""
    user = _cached_user(request.app.state.engine, _username_of(settings, token))
    if user is not None:
        return user

    def lookup() -> User:
        with Session(request.app.state.engine) as session:
            return user_from_token(session, settings, token)

    return await run_in_threadpool(lookup)


CurrentUser = Annotated[User, Depends(get_current_user)]


async def authorized(request: Request, user: CurrentUser) -> User:
    """The user, if the access table (api/routes/access.py) admits their role to this route.

    The decision needs nothing but the route and the role, so a refused role learns nothing
    about the ids in the path; a route missing from the table is refused to everyone.
    """
    route = request.scope.get("route")
    rule = rule_for(request.method, getattr(route, "path", ""))
    if rule is None:
        raise Forbidden(f"role '{user.role}' may not do this: the route has no entry in the "
                        "access table")
    if rule.scope_of(user.role) is None:
        raise Forbidden(f"role '{user.role}' may not do this; it needs one of: "
                        f"{', '.join(sorted(rule.roles))}")
    return user


# Every route that needs a login takes its user through this one dependency.
Allowed = Annotated[User, Depends(authorized)]


async def access_scope(request: Request, user: Allowed) -> Scope:
    """The scope the access table gives the user's role on this route (``ack only`` …)."""
    rule = rule_for(request.method, request.scope["route"].path)
    return rule.roles[user.role]  # there: authorized() refused the role otherwise


AccessScope = Annotated[Scope, Depends(access_scope)]


def team_scope(user: User) -> str | None:
    """The team a ground-team user is confined to; None for roles that see every event."""
    if user.role != Role.GROUND_TEAM:
        return None
    if not user.team_id:
        raise Forbidden("this ground-team account is not linked to a team; ask an admin to set it")
    return user.team_id


def user_of_token(engine: Engine, settings: Settings, token: str) -> User:
    """``user_from_token`` in a session of its own (for a WebSocket, which has no request scope)."""
    with Session(engine) as session:
        return user_from_token(session, settings, token)
