"""What crosses the HTTP edge: request bodies (validated) and public views of the tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

# Strict: `false` or `"29.5"` is not a latitude (lax mode took `lon: false` as 0.0).
Lat = Annotated[float, Field(ge=-90, le=90, strict=True, description="WGS84 latitude, degrees")]
Lon = Annotated[float, Field(ge=-180, le=180, strict=True, description="WGS84 longitude, degrees")]

# The largest integer a database column holds (SQLite's INTEGER, PostgreSQL's BIGINT).
DB_INT_MAX = 2**63 - 1

# Times the service accepts: anything else is a typo or a broken clock, and a year-1 time with an
# offset cannot even be converted to UTC.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_RANGE = f"{EARLIEST.date()} to {LATEST.date()} (UTC)"


def utc_in_range(value: datetime) -> datetime:
    """`value` in UTC; ValueError naming the range when it lies outside it."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{value.isoformat()} is outside {_RANGE}") from exc
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"{value.isoformat()} is outside {_RANGE}; send a time in that range")
    return utc


def date_in_range(value: date) -> date:
    """`value` itself; ValueError naming the range when it lies outside it."""
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(f"{value.isoformat()} is outside {EARLIEST.date()} to {LATEST.date()}")
    return value


def iso_text(value: object) -> object:
    """`value` unless it is a number (lax mode read a float as a Unix time)."""
    if isinstance(value, (int, float)):
        # ValueError, not TypeError: pydantic reports only the former as a validation error.
        raise ValueError("a time is an ISO 8601 string with an offset, e.g. "  # noqa: TRY004
                         "2026-11-25T08:00:00Z, not a number")
    return value


_TIME_SCHEMA = {"formatMinimum": EARLIEST.isoformat(), "formatMaximum": LATEST.isoformat()}
_DAY_SCHEMA = {"formatMinimum": EARLIEST.date().isoformat(),
               "formatMaximum": LATEST.date().isoformat()}
# In a JSON body: an ISO 8601 string with an offset (a number is not a time), stored as UTC.
# `UtcQueryTime` is the same for a query parameter, which arrives as text anyway.
UtcTime = Annotated[AwareDatetime, Field(json_schema_extra=_TIME_SCHEMA),
                    BeforeValidator(iso_text), AfterValidator(utc_in_range)]
UtcQueryTime = Annotated[AwareDatetime, Field(json_schema_extra=_TIME_SCHEMA),
                         AfterValidator(utc_in_range)]
Day = Annotated[date, Field(json_schema_extra=_DAY_SCHEMA), AfterValidator(date_in_range)]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Literal["operator", "ground_team", "evaluator", "admin", "detector", "department"]
    team_id: str | None = Field(None, max_length=64)
    # A department account (files patrol requests) names the department it files for.
    department: str | None = Field(None, min_length=1, max_length=64)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: str
    team_id: str | None
    department: str | None = None


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
