"""What crosses the HTTP edge for regulated sites."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.core.schemas import Day
from api.patrols.schemas import HHMM, WindowIn

Kind = Literal["construction", "fuel_depot", "factory", "market", "other"]
GradeLetter = Literal["A", "B", "C", "D"]
Basis = Literal["finding", "complaint", "grade"]
Exception_ = Literal["complaint", "safety", "case", "dishonesty"]


class SiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: str = Field(min_length=1, max_length=64, description="The registry's own key.")
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    geometry: dict[str, Any] = Field(description="GeoJSON Point or Polygon, [lon, lat].")
    department: str = Field(min_length=1, max_length=64, description="Responsible department.")
    contact: str = Field(min_length=1, max_length=200, description="Who receives notices.")


class SitesImport(BaseModel):
    """Sites to import: exactly one of a GeoJSON FeatureCollection or CSV text."""

    model_config = ConfigDict(extra="forbid")

    geojson: dict[str, Any] | None = None
    csv: str | None = Field(None, max_length=2_000_000)

    @model_validator(mode="after")
    def _one(self) -> SitesImport:
        if (self.geojson is None) == (self.csv is None):
            raise ValueError("send exactly one of geojson (a FeatureCollection) or csv (text)")
        return self


class SitePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ref: str
    name: str
    kind: str
    lat: float
    lon: float
    department: str
    contact: str
    patrol_request_id: int | None
    grade: str | None = Field(None, description="The grade in force for the asked year.")
    grade_rule: str | None = None


class ImportResult(BaseModel):
    imported: int
    new: int
    sites: list[SitePublic]


class GradePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    site_id: int
    year: int
    grade: str
    source: str
    rule_id: str
    rule_text: str
    record: dict[str, Any]
    reason: str | None
    actor: str
    at: datetime


class GradesComputed(BaseModel):
    year: int
    graded: list[GradePublic]
    skipped_overridden: list[int]


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grade: GradeLetter
    reason: str = Field(min_length=5, max_length=1000)


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_ref: str = Field(min_length=1, max_length=64)
    year: int = Field(ge=2000, le=2099, strict=True)
    source: str = Field(min_length=1, max_length=64)
    score: float | None = Field(None, ge=0, le=100)
    complaints: int = Field(0, ge=0, le=100_000, strict=True)


class VisitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: int = Field(ge=1, le=2**63 - 1, strict=True)
    visit_day: Day = Field(description="Local day of the visit (an official working day).")
    start_time: str = Field(json_schema_extra={"pattern": HHMM.pattern}, examples=["09:30"])
    basis: Basis = Field(description="finding: a non-site look found a violation (event_id); "
                         "complaint (note); grade: a visit the grade calls for.")
    event_id: int | None = Field(None, ge=1, le=2**63 - 1, strict=True)
    note: str | None = Field(None, max_length=1000)
    exception: Exception_ | None = Field(None, description="Needed past the grade's cap or in "
                                         "its quiet period; an admin then approves it.")
    items: str = Field(min_length=1, max_length=2000, description="What will be inspected.")
    inspectors: str = Field(min_length=1, max_length=400, description="Who will inspect.")

    @model_validator(mode="after")
    def _time(self) -> VisitIn:
        if not HHMM.match(self.start_time):
            raise ValueError(f"start_time {self.start_time!r} is not HH:MM")
        return self


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=2, max_length=1000, description="Why the exception holds.")


class VisitPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site_id: int
    visit_day: date
    start_time: str
    grade: str
    basis: str
    basis_event_id: int | None
    basis_note: str | None
    exception: str | None
    exception_why: str | None
    approve_by: date | None
    approver: str | None
    approved_at: datetime | None
    items: str
    inspectors: str
    state: str
    noticed_at: datetime | None
    done_at: datetime | None
    created_by: str
    notice_url: str | None = None


class OversightRow(VisitPublic):
    status: Literal["waiting", "on_time", "late", "overdue"]
    site_name: str


class SiteAuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    action: str
    visit_id: int | None
    reason: str | None


class SiteDetail(SitePublic):
    grades: list[GradePublic]
    visits: list[VisitPublic]
    audit: list[SiteAuditPublic]


class SitePatrolIn(BaseModel):
    """A standing drone look at the site (non-site inspection), merged into patrol flights."""

    model_config = ConfigDict(extra="forbid")

    window: WindowIn
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "wed", "fri"], min_length=1, max_length=7)
    per_day: int = Field(1, ge=1, le=24, strict=True)


class NoticePublic(BaseModel):
    """A visit's notice as the site receives it (no login: the notice code is the key)."""

    site_name: str
    site_kind: str
    department: str
    contact: str
    visit_day: date
    start_time: str
    items: str
    inspectors: str
    basis_zh: str
    basis_en: str
    noticed_on: date
    working_days_ahead: int


class GradeFigures(BaseModel):
    grade: str
    sites: int
    visits: int
    cap_per_site: int | None
    cap_total: int | None
    sites_at_cap: int
    exception_visits: int


class SiteFigures(BaseModel):
    year: int
    per_grade: list[GradeFigures]
    site_visits: int
    non_site_looks: int
    looks_found: int
    share_non_site: float | None
    visits_avoided: int
    cd_sites_last_year: int
    cd_moved_up: int
    cd_same: int
    cd_moved_down: int
    cd_ungraded: int


class GradeRulePublic(BaseModel):
    id: str
    grade: str
    figure: str
    op: str
    threshold: float
    text: str


class GradePolicyPublic(BaseModel):
    cap_per_year: int | None
    quiet_from_day: int
    grade_visits_per_year: int
    text: str


class SiteRulesPublic(BaseModel):
    """The grade rule table (first match wins; A is what is left) and what each grade allows."""

    rules: list[GradeRulePublic]
    grade_a: GradeRulePublic
    policies: dict[str, GradePolicyPublic]
    exceptions: dict[str, str]
    bases: dict[str, str]
    notice_working_days: int
    approve_within_working_days: int
