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
