"""What crosses the HTTP edge: request bodies (validated) and public views of the tables."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Lat = Annotated[float, Field(ge=-90, le=90, description="WGS84 latitude, degrees")]
Lon = Annotated[float, Field(ge=-180, le=180, description="WGS84 longitude, degrees")]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Literal["operator", "ground_team", "evaluator", "admin", "detector"]
    team_id: str | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: str
    team_id: str | None


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    role: str
    username: str
    team_id: str | None = None


class ZonePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: str
    response_target_s: float | None
    geometry_geojson: str
