"""What crosses the HTTP edge for events: candidates in, reviews and assignments, and the
public views of events, their audit trail, evidence and tasks."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.core.schemas import Lat, Lon, UtcTime

# Frames one candidate can report: an hour of 30 fps video is 108 000.
MAX_SIGHTINGS = 1_000_000
MAX_METRES = 100_000.0  # farther than any error or ETA distance the service meets
MAX_ETA_S = 7 * 24 * 3600.0


class EventType(StrEnum):
    STREET_STALL = "street_stall"  # 占道经营
    MOBILE_FUEL_SALE = "mobile_fuel_sale"  # 非法流动供油


class Disposition(StrEnum):
    PERSUADED = "persuaded"
    REMOVED = "removed"
    PENALISED = "penalised"
    REFERRED = "referred"
    NOT_FOUND = "not_found"


class CandidateIn(BaseModel):
    """A finding to store: from a detection worker, or an operator's manual / hotline report."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=128, examples=["detector:drone-3", "hotline"])
    source_event_id: str = Field(
        min_length=1, max_length=128, description="Stable per finding: a retried POST is idempotent."
    )
    type: EventType
    lat: Lat
    lon: Lon
    confidence: float = Field(1.0, ge=0, le=1, strict=True)
    detected_at: UtcTime | None = Field(
        None, description="Defaults to the service's now; 2000 to 2100, stored in UTC.")
    position_error_m: float | None = Field(None, ge=0, le=MAX_METRES, strict=True)
    sightings: int = Field(1, ge=1, le=MAX_SIGHTINGS, strict=True)
    drone_id: str | None = Field(None, max_length=64)
    note: str | None = Field(None, max_length=2000)
    snapshot_jpeg_b64: str | None = Field(
        None, description="Best snapshot, base64 JPEG/PNG (its size is bounded by the body limit).")
    box_xyxy: list[Annotated[float, Field(ge=0, le=100_000, strict=True)]] | None = Field(
        None, min_length=4, max_length=4,
        description="The object's box in the snapshot, pixels: x1, y1, x2, y2 (x1 < x2, y1 < y2).")
    model_version: str | None = Field(
        None, min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._-]+$",
        description="The detector weights that found it: the first 12 hex digits of the "
                    "weights file's SHA-256 (`flyonce detect` sends it).")

    @field_validator("box_xyxy")
    @classmethod
    def _box(cls, value: list[float] | None) -> list[float] | None:
        return _checked_box(value)

    @field_validator("snapshot_jpeg_b64")
    @classmethod
    def _is_base64(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("snapshot_jpeg_b64 is not valid base64; send the JPEG bytes base64-encoded") from exc
        return value


def _checked_box(value: list[float] | None) -> list[float] | None:
    if value is None:
        return None
    x1, y1, x2, y2 = value
    if not (0 <= x1 < x2 <= 100_000 and 0 <= y1 < y2 <= 100_000):
        raise ValueError("box_xyxy must be x1, y1, x2, y2 in pixels with 0 <= x1 < x2 and "
                         "0 <= y1 < y2")
    return value


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirm", "reject"]
    reason: str | None = Field(None, max_length=2000)
    box_xyxy: list[Annotated[float, Field(ge=0, le=100_000, strict=False)]] | None = Field(
        None, min_length=4, max_length=4,
        description="The operator's correction of the box, snapshot pixels x1, y1, x2, y2; "
                    "omitted: the detector's box stands.")
    type: EventType | None = Field(
        None, description="The operator's correction of the class (confirm only); omitted: "
                          "the detector's class stands.")

    @field_validator("box_xyxy")
    @classmethod
    def _box(cls, value: list[float] | None) -> list[float] | None:
        return _checked_box(value)

    @model_validator(mode="after")
    def _reject_needs_reason(self) -> ReviewIn:
        if self.decision == "reject" and not (self.reason and self.reason.strip()):
            raise ValueError("a rejection needs a reason (it is kept for evaluating the detector)")
        if self.decision == "reject" and self.type is not None:
            raise ValueError("a rejection keeps the detector's class (it is what was not there); "
                             "correct the class only when confirming")
        return self


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    drone_id: str | None = Field(None, max_length=64)
    team_id: str | None = Field(None, max_length=64)
    eta_s: float | None = Field(None, ge=0, le=MAX_ETA_S, strict=True,
                                description="The planner's ETA for the drone.")
    at_risk: bool = Field(False, strict=True, description="The plan already misses the zone's target.")
    reason: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _someone(self) -> AssignIn:
        if not self.drone_id and not self.team_id:
            raise ValueError("name a drone_id, a team_id or both")
        return self


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=2000)


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    from_state: str | None
    to_state: str
    reason: str | None


class EvidencePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    created_at: datetime
    url: str = ""


class TaskPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    kind: str
    drone_id: str | None
    team_id: str | None
    state: str
    code: str | None = None  # the task code (亮码); its public page is /c/{code}
    eta_s: float | None
    at_risk: bool
    created_by: str
    created_at: datetime
    accepted_at: datetime | None
    on_scene_at: datetime | None
    done_at: datetime | None


class CandidateAck(BaseModel):
    """What a detector learns from posting a candidate: which event it is, and how it landed.

    Nothing of the stored event: a detector that re-posts a known (source, source_event_id)
    must not read back another's review, position or disposition."""

    id: int = Field(description="The event's id (the one GET /api/v1/events/{id} serves staff).")
    outcome: Literal["new", "merged", "retry"] = Field(
        description="new: it opened an event; merged: it joined a known one (or was absorbed "
                    "by one rejected lately); retry: this candidate was stored before.")


MAX_BATCH = 500


class CandidateBatchIn(BaseModel):
    """Several candidates in one request: what a detection worker or gateway found since its
    last post. Each is stored as if posted alone (its own transaction, idempotent on its key)."""

    model_config = ConfigDict(extra="forbid")

    candidates: list[CandidateIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    state: str
    lat: float
    lon: float
    confidence: float
    source: str
    source_event_id: str
    position_error_m: float | None
    sightings: int = Field(description="Frames the detectors saw it in, over every candidate.")
    candidates: int = Field(1, description="Candidates that are this event: the one that opened "
                            "it and every one merged in since (GET .../sightings).")
    last_seen_at: datetime | None = None
    detector_drone_id: str | None
    report_note: str | None
    zone_id: str | None
    zone_name: str | None
    zone_kind: str | None
    target_s: float
    at_risk: bool
    disposition: str | None
    resolution_note: str | None
    reject_reason: str | None
    detected_at: datetime
    alerted_at: datetime | None
    reviewed_at: datetime | None
    assigned_at: datetime | None
    on_scene_at: datetime | None
    resolved_at: datetime | None
    evaluated_at: datetime | None
    response_time_s: float | None
    within_target: bool | None
    time_to_resolve_s: float | None
    # Set when the violation is confirmed (api/lifecycle/offences.py): first | repeat, warning | penalty | referral.
    offence: str | None = None
    suggested_disposition: str | None = None
    model_version: str | None = Field(None, description="The detector weights that found it.")
    allowed_next: list[str] = []


class PriorEvent(BaseModel):
    """An earlier confirmed violation at the same place, that made this one a repeat."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    detected_at: datetime
    state: str
    disposition: str | None


class SightingPublic(BaseModel):
    """One candidate's look at the event: the first opened it; later ones were merged in."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    kind: str = Field(description="first | merged | absorbed (by a rejected event) | split")
    source: str
    source_event_id: str
    drone_id: str | None
    detected_at: datetime
    lat: float
    lon: float
    confidence: float
    position_error_m: float | None
    frames: int
    distance_m: float | None = Field(description="From the event when it was merged, metres.")
    evidence_id: int | None
    box_xyxy: list[float] | None = None
    note: str | None

    @field_validator("box_xyxy", mode="before")
    @classmethod
    def _from_json(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value


class SplitIn(BaseModel):
    """Why a sighting is not the same violation as its event."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, examples=["a second stall across the road"])


class EventDetail(EventPublic):
    all_sightings: list[SightingPublic] = Field(
        [], description="Every candidate that is this event, oldest first.")
    timeline: list[AuditPublic] = []
    evidence: list[EvidencePublic] = []
    tasks: list[TaskPublic] = []
    prior_events: list[PriorEvent] = Field([], description="Newest first; empty for a first offence.")


class EventPage(BaseModel):
    total: int
    items: list[EventPublic]


class DetectionReportIn(BaseModel):
    """What a detection worker did over one run (``flyonce detect --api`` posts its stats)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=128, examples=["detector:drone-1"])
    frames_in: int = Field(ge=0, le=10**9, description="Frames read from the source.")
    frames_used: int = Field(ge=0, le=10**9, description="Frames the model looked at.")
    skipped: dict[Literal["telemetry", "frame"], Annotated[int, Field(ge=0, le=10**9)]] = Field(
        {}, description="Frames skipped, by reason: telemetry (no pose: a gap in the flight "
        "log) or frame (unreadable).")
    total_s: float = Field(ge=0, le=10**7, description="Wall seconds the run took.")


class DetectionReportAck(BaseModel):
    source: str
    frames_per_s: float | None = Field(description="frames_used / total_s (None for a run of no time).")


class CandidateBatchOut(BaseModel):
    """One answer per candidate of a batch, in its order: an acknowledgement for a detector, the
    event for staff (as `POST /candidates` answers)."""

    results: list[EventPublic | CandidateAck]
    outcomes: list[Literal["new", "merged", "retry"]] = Field(
        description="How each candidate landed, in order (as a detector's acknowledgement says; "
                    "for staff too, whose results are the events).")


class ReviewSamplePublic(BaseModel):
    """An operator's verdict on a snapshot, kept as a labelled training sample."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    evidence_id: int
    verdict: str = Field(description="confirm | reject")
    type: str = Field(description="The class the operator settled on (rejected: the detector's).")
    detected_type: str
    box_xyxy: list[float] = Field(description="Snapshot pixels x1, y1, x2, y2.")
    detected_box_xyxy: list[float] | None
    corrected: bool = Field(description="The operator moved the box or changed the class.")
    model_version: str | None
    reviewed_by: str
    reviewed_at: datetime
    snapshot_url: str = ""

    @field_validator("box_xyxy", "detected_box_xyxy", mode="before")
    @classmethod
    def _from_json(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value


class VersionPrecision(BaseModel):
    """How one detector weights version fared with the operators."""

    model_version: str | None = Field(description="None: candidates that named no version.")
    events: int
    confirmed: int
    rejected: int = Field(description="Rejected by an operator (not by the zone rules).")
    precision: float | None = Field(description="confirmed / (confirmed + rejected); None "
                                                "before the first verdict.")
    first_event_at: datetime | None
    promoted_at: datetime | None = None
    figures: dict | None = Field(None, description="The held-out scores it was promoted on.")
