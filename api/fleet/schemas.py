"""What crosses the HTTP edge for the fleet's registry: drones and ground teams."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.core.schemas import Lat, Lon


class DroneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=128)
    mavlink_url: str | None = Field(None, max_length=512)
    dock_lat: Lat
    dock_lon: Lon
    cruise_speed_mps: float = Field(12.0, gt=0, le=40, strict=True)


class DronePublic(DroneIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    lat: float | None
    lon: float | None
    alt_rel_m: float | None
    mode: str | None
    battery_pct: float | None
    status: str
    updated_at: datetime | None


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=128)
    department: str = Field("城管执法", min_length=1, max_length=64)
    lat: Lat
    lon: Lon


class TeamPublic(TeamIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    status: str
    updated_at: datetime | None


class TeamPositionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: Lat
    lon: Lon


# Live dispatch views (api/routes/dispatch.py). Built from plain dicts; `extra="allow"` keeps any
# key added to those dicts later, while the declared ones are what clients may rely on.
class OptionPublic(BaseModel):
    """Sending one drone to the event: when it would get there and whether it can."""

    model_config = ConfigDict(extra="allow")

    drone_id: str
    eta_s: float | None = Field(description="None when it cannot get there at all.")
    feasible: bool
    at_risk: bool
    slack_s: float | None = Field(description="Seconds to spare before the target; negative: late.")
    route_length_m: float | None
    straight_m: float | None
    corners: int | None
    trip_wh: float | None
    usable_wh: float | None
    on_patrol: bool
    reason: str


class TeamOption(BaseModel):
    model_config = ConfigDict(extra="allow")

    team_id: str
    distance_m: float | None
    available: bool


class Suggestions(BaseModel):
    """Drones ranked by ETA against the event's target, and the nearest teams."""

    model_config = ConfigDict(extra="allow")

    event_id: int
    state: str
    target_s: float | None
    waited_s: float | None
    time_left_s: float | None
    at_risk: bool
    drones: list[OptionPublic]
    teams: list[TeamOption]


class DroneLive(BaseModel):
    """A drone's live state and task (times ISO 8601)."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    status: str
    protocol: str
    available: bool
    reason: str | None
    event_id: int | str | None
    stage: str | None
    lat: float | None
    lon: float | None
    alt_rel_m: float | None = Field(description="Metres above home.")
    heading_deg: float | None
    groundspeed_mps: float | None
    mode: str | None
    armed: bool | None
    battery_pct: float | None
    landed_state: str | None
    last_heartbeat_at: str | None
    dock_lat: float | None
    dock_lon: float | None


class Dispatched(BaseModel):
    model_config = ConfigDict(extra="allow")

    event_id: int
    drone_id: str
    at_risk: bool
    reason: str | None
    option: OptionPublic | None


class Released(BaseModel):
    model_config = ConfigDict(extra="allow")

    event_id: int
    released: bool


class PatrolStarted(BaseModel):
    model_config = ConfigDict(extra="allow")

    drone_id: str
    zone_id: str
    waypoints: int
    mission_items: int
