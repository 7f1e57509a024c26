"""Where the fleet can be in time: the reachability map of the zones, docks and drone models."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.core.errors import Conflict
from api.fleet import registry
from api.fleet.planning import ReachCache, ServiceReach
from api.fleet.reach_schemas import ReachabilityPublic, overlay, public
from api.routes.deps import Allowed, SessionDep, ZonesDep
from api.routes.errors import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["fleet"])

ERRORS = {403: {"model": ErrorBody,
                "description": "Only operators, evaluators and admins see the reach map."},
          409: {"model": ErrorBody,
                "description": "No drones are registered, so there is no dock to fly from."}}
# A few fixed cell sizes, each computed once per fleet and zones and then cached: a free float
# would let any reader force a fresh map (seconds of CPU) with every request.
CELL_SIZES_M = (20, 50, 100, 200)
CellSize = IntEnum("CellSize", {f"m{m}": m for m in CELL_SIZES_M})
CellM = Annotated[CellSize, Query(description="Grid cell size, metres: one of "
                                              f"{', '.join(map(str, CELL_SIZES_M))}.")]


async def get_reach_cache(request: Request) -> ReachCache:
    return request.app.state.reach


ReachCacheDep = Annotated[ReachCache, Depends(get_reach_cache)]


def _reach(session: SessionDep, zones: ZonesDep, cache: ReachCacheDep, cell_m: float
           ) -> ServiceReach:
    drones = list(registry.drones(session))
    session.commit()  # end the read before the computation
    try:
        return cache.get(zones.zone_set, drones, cell_m=float(cell_m))
    except ValueError as exc:
        raise Conflict(str(exc)) from exc


# Plain `def` routes: FastAPI runs them in its threadpool, so a computation never blocks the loop.
@router.get("/reachability", response_model=ReachabilityPublic, responses=ERRORS,
            summary="Best ETA from any dock to every cell against its target; shares per zone "
                    "and kind within target")
def get_reachability(_user: Allowed, session: SessionDep, zones: ZonesDep,
                     cache: ReachCacheDep, cell_m: CellM = CellSize.m20) -> ReachabilityPublic:
    return public(_reach(session, zones, cache, cell_m))


@router.get("/reachability.png", response_class=Response,
            responses={200: {"content": {"image/png": {}},
                             "description": "One pixel per cell, north up, unreachable cells "
                                            "transparent; lay it over the JSON's grid.bounds"},
                       **ERRORS},
            summary="The reachability map as an image overlay")
def get_reachability_png(_user: Allowed, session: SessionDep, zones: ZonesDep,
                         cache: ReachCacheDep, cell_m: CellM = CellSize.m20) -> Response:
    reach = _reach(session, zones, cache, cell_m)
    return Response(overlay(reach), media_type="image/png",
                    headers={"ETag": f'"{reach.fingerprint}"', "Cache-Control": "private"})
