"""What crosses the HTTP edge for department patrol requests (综合飞一次)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.core.schemas import Day
from api.patrols.requests import WEEKDAYS

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The pattern is declared for clients; `_hhmm` checks it and says how to write the time.
    start: str = Field(json_schema_extra={"pattern": HHMM.pattern}, examples=["08:00"], description="Local time (Asia/Shanghai), HH:MM.")
    end: str = Field(json_schema_extra={"pattern": HHMM.pattern}, examples=["12:00"], description="Before start: the window crosses midnight.")

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not HHMM.match(value):
            raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. 08:00")
        return value


class PatrolRequestIn(BaseModel):
    """A standing patrol need: where, what to look for, when and how often."""

    model_config = ConfigDict(extra="forbid")

    department: str | None = Field(None, max_length=64, description="Defaults to a department "
                                   "account's own; operators and admins must name it.")
    title: str = Field(min_length=1, max_length=200)
    area: dict = Field(description='A GeoJSON Polygon, [lon, lat] order: {"type": "Polygon", '
                       '"coordinates": [[[lon, lat], ...]]}, the ring closed.')
    looks_for: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=20,
                                 description="Event types (street_stall, mobile_fuel_sale) "
                                 "and/or plain words.")
    window: WindowIn
    weekdays: list[Annotated[str, Field(max_length=16)]] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1,
                                max_length=7, examples=[["mon", "wed", "fri"]])
    per_day: int = Field(1, ge=1, le=24, strict=True, description="Passes inside each day's window.")
    valid_from: Day | None = Field(None, description="First local day (inclusive).")
    valid_to: Day | None = Field(None, description="Last local day (inclusive).")

    @field_validator("looks_for")
    @classmethod
    def _words(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value.strip() or "," in value or len(value) > 64:
                raise ValueError(f"{value!r}: each entry is one event type or word, 1-64 "
                                 "characters, no commas")
        return [v.strip() for v in values]


# Public views, built from the plain dicts of api/patrols (requests.request_json, flights_json,
# plans.plan_json); `extra="allow"` keeps any key those add later.
class PatrolWindowPublic(BaseModel):
    model_config = ConfigDict(extra="allow")

    start: str
    end: str
    tz: str


class PatrolRequestPublic(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    department: str
    title: str
    area: dict[str, Any] = Field(description="GeoJSON Polygon, [lon, lat] order.")
    looks_for: list[str]
    window: PatrolWindowPublic
    weekdays: list[str]
    per_day: int
    valid_from: str | None = Field(description="First local day, ISO 8601.")
    valid_to: str | None
    status: str
    created_by: str
    created_at: str | None


class PatrolRequestWithdrawn(PatrolRequestPublic):
    cancelled_flight_ids: list[int]


class PatrolRequestDetail(PatrolRequestPublic):
    flights: list[dict[str, Any]] = Field(description="The flights that serve it.")
    findings: list[dict[str, Any]] = Field(description="Events those flights found in its area.")


class PatrolPlanPublic(BaseModel):
    """A stored week's plan: its figures and its flights."""

    model_config = ConfigDict(extra="allow")

    plan_id: int
    created_at: str
    created_by: str
    flights: list[dict[str, Any]]


class PatrolFlightsPublic(BaseModel):
    model_config = ConfigDict(extra="allow")

    flights: list[dict[str, Any]]
    plans: list[dict[str, Any]]
