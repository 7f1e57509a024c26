"""SQLModel tables: what the service stores. Schemas for the HTTP edge live in `schemas.py`.

Times are UTC and timezone-aware on the way in and out, whatever the database does with them.
Positions are WGS84 degrees; altitudes say their reference in the column name.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Relationship, SQLModel


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC; naive values are refused, reads come back UTC-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; flyonce stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        # SQLite keeps no zone: store naive UTC there, aware elsewhere.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = True, index: bool = False):  # noqa: ANN202
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    password_hash: str
    role: str = Field(max_length=20)
    team_id: str | None = Field(default=None, foreign_key="ground_teams.id")
    # The department a `department` account files patrol requests for (城管, 市场监管 …).
    department: str | None = Field(default=None, max_length=64)
    disabled: bool = False
    created_at: datetime | None = _ts(nullable=False)


class Zone(SQLModel, table=True):
    __tablename__ = "zones"

    id: str = Field(primary_key=True, max_length=64)
    name: str
    kind: str = Field(index=True, max_length=32)
    response_target_s: float | None = None
    geometry_geojson: str = Field(sa_type=sa.Text)


class Drone(SQLModel, table=True):
    __tablename__ = "drones"

    id: str = Field(primary_key=True, max_length=64)
    name: str
    mavlink_url: str | None = None
    dock_lat: float
    dock_lon: float
    cruise_speed_mps: float = 12.0
    # Last telemetry seen, for the map; dispatch keeps the live state.
    lat: float | None = None
    lon: float | None = None
    alt_rel_m: float | None = None
    mode: str | None = None
    battery_pct: float | None = None
    status: str = Field(default="unknown", max_length=32)
    updated_at: datetime | None = _ts()


class GroundTeam(SQLModel, table=True):
    __tablename__ = "ground_teams"

    id: str = Field(primary_key=True, max_length=64)
    name: str
    department: str = "城管执法"
    lat: float
    lon: float
    status: str = Field(default="available", max_length=32)
    updated_at: datetime | None = _ts()


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("source", "source_event_id", name="uq_events_source_key"),
        # Repeats are looked up by type inside a small latitude/longitude box (api/lifecycle/offences.py).
        sa.Index("ix_events_type_lat_lon", "type", "lat", "lon"),
    )

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(index=True, max_length=32)
    state: str = Field(index=True, max_length=16)
    lat: float
    lon: float
    confidence: float
    source: str = Field(max_length=128)
    source_event_id: str = Field(max_length=128)
    position_error_m: float | None = None
    sightings: int = 1  # frames the detectors saw it in, over every candidate merged in
    # Candidates that are this event (its Sighting rows): 1 when opened, +1 per merged candidate.
    candidates: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # The running weighted fit of the sightings' positions (api/lifecycle/merge.py): Σw, Σw·lat,
    # Σw·lon, so a merged candidate moves the event without reading every earlier sighting. NULL
    # on events stored before it existed: the next merge fits them from their sightings once.
    fit_weight: float | None = None
    fit_lat_sum: float | None = None
    fit_lon_sum: float | None = None
    detector_drone_id: str | None = None
    report_note: str | None = None
    zone_id: str | None = Field(default=None, index=True)
    zone_name: str | None = None
    zone_kind: str | None = Field(default=None, index=True)
    target_s: float
    at_risk: bool = False
    disposition: str | None = None
    resolution_note: str | None = None
    reject_reason: str | None = None
    # First-offence leniency (首违免罚), decided when the violation is confirmed:
    # offence "first" | "repeat"; suggested_disposition "warning" | "penalty" | "referral";
    # prior_event_ids a JSON list of the earlier confirmed violations at this place.
    offence: str | None = Field(default=None, max_length=16)
    suggested_disposition: str | None = Field(default=None, max_length=16)
    prior_event_ids: str | None = Field(default=None, sa_type=sa.Text)
    # The merged patrol flight (综合飞一次) whose drone found it, if any.
    patrol_flight_id: int | None = Field(default=None, foreign_key="patrol_flights.id", index=True)
    # The detector weights that found it (the first candidate's; detection.versions), if any.
    model_version: str | None = Field(default=None, max_length=64, index=True)
    # One timestamp per stage (mission time when the service runs on a simulator clock).
    detected_at: datetime | None = _ts(nullable=False, index=True)
    last_seen_at: datetime | None = _ts()  # the newest sighting's time: the merge window runs from it
    alerted_at: datetime | None = _ts()
    reviewed_at: datetime | None = _ts()
    assigned_at: datetime | None = _ts()
    on_scene_at: datetime | None = _ts()
    resolved_at: datetime | None = _ts()
    evaluated_at: datetime | None = _ts()
    # Frozen at evaluation, computed from the stage times above.
    response_time_s: float | None = None
    within_target: bool | None = None
    time_to_resolve_s: float | None = None


class Sighting(SQLModel, table=True):
    """One candidate's look at an event's violation: the one that opened it, or a later one merged.

    kind: ``first`` (opened the event), ``merged`` (attached to an open event), ``absorbed``
    (attached to a recently rejected event without alerting again), ``split`` (an operator moved
    it off into its own event, where it is the first). (source, source_event_id) is the
    candidate's idempotency key, so a retried candidate is never stored twice.
    """

    __tablename__ = "sightings"
    __table_args__ = (
        sa.UniqueConstraint("source", "source_event_id", name="uq_sightings_source_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    kind: str = Field(max_length=16)
    source: str = Field(max_length=128)
    source_event_id: str = Field(max_length=128)
    drone_id: str | None = Field(default=None, max_length=64)
    detected_at: datetime | None = _ts(nullable=False)
    lat: float
    lon: float
    confidence: float
    position_error_m: float | None = None
    frames: int = 1  # frames the detector saw it in (the candidate's `sightings`)
    distance_m: float | None = None  # from the event's position when it was merged
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    box_xyxy: str | None = Field(default=None, max_length=64)  # JSON [x1, y1, x2, y2], snapshot px
    note: str | None = Field(default=None, sa_type=sa.Text)
    model_version: str | None = Field(default=None, max_length=64)


class DispatchClaim(SQLModel, table=True):
    """Which service process flies a drone to an event: inserted before any command is sent,
    so however many processes race for it, one wins (the primary key refuses the rest)."""

    __tablename__ = "dispatch_claims"

    event_id: int = Field(foreign_key="events.id", primary_key=True)
    owner: str = Field(max_length=128)
    claimed_at: datetime | None = _ts(nullable=False)


class DroneClaim(SQLModel, table=True):
    """Which service process commands a drone now, and for which event: taken before the
    drone's first command, renewed while it flies, given up when its mission ends."""

    __tablename__ = "drone_claims"

    drone_id: str = Field(primary_key=True, max_length=64)
    event_id: int = Field(foreign_key="events.id")
    owner: str = Field(max_length=128)
    claimed_at: datetime | None = _ts(nullable=False)


class Evidence(SQLModel, table=True):
    __tablename__ = "evidence"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    kind: str = Field(max_length=16)  # snapshot | resolution | report
    path: str  # relative to the media dir
    content_type: str
    size_bytes: int
    sha256: str = Field(max_length=64)
    uploaded_by: str
    created_at: datetime | None = _ts(nullable=False)


class Task(SQLModel, table=True):
    __tablename__ = "tasks"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    kind: str = Field(max_length=8)  # drone | team
    drone_id: str | None = Field(default=None, foreign_key="drones.id")
    team_id: str | None = Field(default=None, foreign_key="ground_teams.id", index=True)
    state: str = Field(default="assigned", max_length=16)  # assigned accepted on_scene done cancelled
    # The task code (亮码): unguessable, opens the task's public page; its QR encodes that page.
    code: str | None = Field(default_factory=lambda: secrets.token_urlsafe(16), unique=True,
                             index=True, max_length=32)
    eta_s: float | None = None
    at_risk: bool = False
    created_by: str
    created_at: datetime | None = _ts(nullable=False)
    accepted_at: datetime | None = _ts()
    on_scene_at: datetime | None = _ts()
    done_at: datetime | None = _ts()


class Persuasion(SQLModel, table=True):
    """A warning played through the drone's loudspeaker (远程劝导), and what came of it."""

    __tablename__ = "persuasions"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    drone_id: str | None = Field(default=None, max_length=64)
    kind: str = Field(max_length=8)  # clip | text
    clip_id: int | None = None
    text: str | None = None
    repeat: int = 1
    requested_by: str
    requested_at: datetime | None = _ts(nullable=False)
    played_at: datetime | None = _ts()  # the payload's ACK
    result: int | None = None  # MAV_RESULT of the play command
    watch_until: datetime | None = _ts()
    outcome: str = Field(default="pending", max_length=16)  # pending persuaded stubborn failed
    decided_at: datetime | None = _ts()
    note: str | None = None


class SceneCheck(SQLModel, table=True):
    """One look at an event's place from the drone on scene: is the violation still there?"""

    __tablename__ = "scene_checks"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    at: datetime | None = _ts(nullable=False)
    present: bool
    confidence: float | None = None
    drone_id: str | None = Field(default=None, max_length=64)
    source: str = Field(max_length=128)


class Feedback(SQLModel, table=True):
    """What a person inspected said on a task's public page (no personal data kept)."""

    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="tasks.id", index=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    at: datetime | None = _ts(nullable=False)
    rating: int | None = None  # 1..5
    comment: str | None = Field(default=None, sa_type=sa.Text)


class PatrolRequest(SQLModel, table=True):
    """A department's standing patrol need: an area, what to look for, when and how often."""

    __tablename__ = "patrol_requests"

    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(index=True, max_length=64)
    title: str
    area_geojson: str = Field(sa_type=sa.Text)  # a GeoJSON Polygon, WGS84
    looks_for: str = ""  # comma-separated event types or plain words
    window_start: str = Field(max_length=5)  # "HH:MM", local time (Asia/Shanghai)
    window_end: str = Field(max_length=5)
    weekdays: str = Field(default="mon,tue,wed,thu,fri,sat,sun", max_length=32)
    per_day: int = 1  # passes wanted inside each day's window
    valid_from: datetime | None = _ts()
    valid_to: datetime | None = _ts()
    status: str = Field(default="active", max_length=16)  # active | withdrawn
    created_by: str
    created_at: datetime | None = _ts(nullable=False)


class PatrolPlan(SQLModel, table=True):
    """One run of the patrol planner over a week: merged figures against flying each pass alone."""

    __tablename__ = "patrol_plans"

    id: int | None = Field(default=None, primary_key=True)
    first_day: date  # local days (Asia/Shanghai), inclusive
    last_day: date
    slots: int  # passes asked for
    flights: int  # merged sorties
    flight_s: float
    length_m: float
    alone_flights: int  # the same passes, each flown alone
    alone_flight_s: float
    alone_length_m: float
    unserved_json: str = Field(default="[]", sa_type=sa.Text)  # [{request_id, start, reason}]
    created_by: str
    created_at: datetime | None = _ts(nullable=False)


class PatrolFlight(SQLModel, table=True):
    """One planned flight that serves one or more patrol requests."""

    __tablename__ = "patrol_flights"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int | None = Field(default=None, foreign_key="patrol_plans.id", index=True)
    # Indexed: ingest asks "which flight is this drone on?" for every candidate from a drone.
    drone_id: str | None = Field(default=None, max_length=64, index=True)
    dock_id: str | None = Field(default=None, max_length=64)
    planned_start: datetime | None = _ts(nullable=False, index=True)
    planned_end: datetime | None = _ts(nullable=False)
    duration_s: float
    length_m: float
    path_geojson: str = Field(sa_type=sa.Text)  # a GeoJSON LineString, WGS84
    state: str = Field(default="planned", max_length=16)  # planned flying done failed cancelled
    reason: str | None = Field(default=None, sa_type=sa.Text)  # why it failed or was cancelled
    started_at: datetime | None = _ts()
    ended_at: datetime | None = _ts()
    created_at: datetime | None = _ts(nullable=False)


class PatrolServe(SQLModel, table=True):
    """Which flight serves which request, for which of its slots."""

    __tablename__ = "patrol_serves"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="patrol_requests.id", index=True)
    flight_id: int = Field(foreign_key="patrol_flights.id", index=True)
    slot_start: datetime | None = _ts(nullable=False)


class AuditEntry(SQLModel, table=True):
    """One lifecycle transition: append-only, written in the transition's own transaction."""

    __tablename__ = "audit_trail"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    at: datetime | None = _ts(nullable=False)
    actor: str
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    reason: str | None = None
    # Lets a new event and its first audit rows be written in one flush.
    event: Event = Relationship()


# ---------------------------------------------------------------- regulated sites (api/sites)


class Site(SQLModel, table=True):
    """A regulated site (construction site, fuel depot, factory, market) under inspection rules."""

    __tablename__ = "sites"

    id: int | None = Field(default=None, primary_key=True)
    # The importer's own key (a registry number): a second import of it updates, never duplicates.
    ref: str = Field(unique=True, index=True, max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(index=True, max_length=32)
    geometry_geojson: str = Field(sa_type=sa.Text)  # a GeoJSON Point or Polygon, WGS84
    lat: float  # a point on the site (the polygon's representative point), for lists and maps
    lon: float
    department: str = Field(max_length=64)  # responsible department
    contact: str = Field(max_length=200)  # who receives notices
    patrol_request_id: int | None = Field(default=None, foreign_key="patrol_requests.id")
    created_by: str
    created_at: datetime | None = _ts(nullable=False)


class SiteGrade(SQLModel, table=True):
    """One grade of a site for a year; append-only: the newest row of (site, year) is in force."""

    __tablename__ = "site_grades"

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="sites.id", index=True)
    year: int = Field(index=True)  # the year the grade applies to (from the record of year - 1)
    grade: str = Field(max_length=1)
    source: str = Field(max_length=16)  # computed | override
    rule_id: str = Field(max_length=8)  # the rule that made it (api/sites/rules.py), or "override"
    rule_text: str
    record_json: str = Field(default="{}", sa_type=sa.Text)  # the figures it was computed from
    reason: str | None = Field(default=None, sa_type=sa.Text)  # an override's reason
    actor: str
    at: datetime | None = _ts(nullable=False)


class SiteScore(SQLModel, table=True):
    """An external score of a site for a year (a department's rating, 0–100) and complaints
    recorded outside flyonce."""

    __tablename__ = "site_scores"
    __table_args__ = (sa.UniqueConstraint("site_id", "year", "source", name="uq_site_scores_key"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="sites.id", index=True)
    year: int
    source: str = Field(max_length=64)
    score: float | None = None
    complaints: int = 0
    imported_by: str
    imported_at: datetime | None = _ts(nullable=False)


class SiteVisit(SQLModel, table=True):
    """A planned site visit: what it rests on, its exception and approval, and its notice."""

    __tablename__ = "site_visits"

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="sites.id", index=True)
    visit_day: date = Field(index=True)  # local day
    grade: str = Field(max_length=1)  # the site's grade when planned
    basis: str = Field(max_length=16)  # finding | complaint | grade
    basis_event_id: int | None = Field(default=None, foreign_key="events.id")
    basis_note: str | None = Field(default=None, sa_type=sa.Text)
    exception: str | None = Field(default=None, max_length=16)  # complaint safety case dishonesty
    exception_why: str | None = Field(default=None, sa_type=sa.Text)  # cap / quiet period, in words
    approve_by: date | None = None  # last local day the exception may be approved on time
    approver: str | None = Field(default=None, max_length=64)
    approved_at: datetime | None = _ts()
    items: str = Field(sa_type=sa.Text)  # what will be inspected
    inspectors: str = Field(max_length=400)
    start_time: str = Field(max_length=5)  # "HH:MM" local
    state: str = Field(default="planned", max_length=16)  # pending_approval planned noticed done
    notice_code: str | None = Field(default=None, unique=True, index=True, max_length=32)
    noticed_at: datetime | None = _ts()
    done_at: datetime | None = _ts()
    created_by: str
    created_at: datetime | None = _ts(nullable=False)


class SiteAudit(SQLModel, table=True):
    """Append-only trail of what was done to a site: imports, grades, overrides, visits."""

    __tablename__ = "site_audit"

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="sites.id", index=True)
    visit_id: int | None = Field(default=None, foreign_key="site_visits.id")
    at: datetime | None = _ts(nullable=False)
    actor: str
    action: str = Field(max_length=32)
    reason: str | None = Field(default=None, sa_type=sa.Text)


class Penalty(SQLModel, table=True):
    """A penalty decided for a violation, with the discretion baseline it was weighed against."""

    __tablename__ = "penalties"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", unique=True)  # one penalty per violation
    event_type: str = Field(index=True, max_length=32)
    zone_kind: str | None = Field(default=None, max_length=32)
    amount_cny: float
    baseline_scope: str = Field(max_length=16)  # type+zone | type | none
    baseline_n: int
    baseline_median_cny: float | None = None
    baseline_p25_cny: float | None = None
    baseline_p75_cny: float | None = None
    departs: bool = False
    reason: str | None = Field(default=None, sa_type=sa.Text)  # required when it departs
    decided_by: str
    at: datetime | None = _ts(nullable=False)


class WebhookDelivery(SQLModel, table=True):
    """One lifecycle change to push to one receiver (api/handoff/webhooks.py): made from its
    audit row by the leader, tried until the receiver answers 2xx, then ``delivered``; given up
    (``dead``) after the last try, until an admin replays it. The body is frozen when the row is
    made, so every try sends the same bytes under the same delivery id."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("audit_id", "url", name="uq_webhook_deliveries_audit_url"),
        sa.Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    audit_id: int = Field(foreign_key="audit_trail.id")
    event_id: int = Field(foreign_key="events.id", index=True)
    topic: str = Field(max_length=32)
    url: str = Field(max_length=512)
    body: str
    state: str = Field(default="pending", max_length=16)  # pending, delivered, dead
    attempts: int = 0
    next_attempt_at: datetime | None = _ts(nullable=False)
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime | None = _ts(nullable=False)
    delivered_at: datetime | None = _ts()


class ReviewSample(SQLModel, table=True):
    """An operator's verdict on an event's snapshot, kept as a labelled image for retraining.

    verdict ``confirm`` (``type`` is in the box; the box is the detector's, or the operator's
    correction) or ``reject`` (nothing of ``type`` is there: the box is what the detector
    wrongly took for one). One row per review; the event's one review makes it one per event.
    """

    __tablename__ = "review_samples"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", index=True, unique=True)
    evidence_id: int = Field(foreign_key="evidence.id")  # the snapshot
    verdict: str = Field(max_length=8)  # confirm | reject
    type: str = Field(max_length=32)  # the class the operator settled on (or rejected)
    detected_type: str = Field(max_length=32)  # the class the detector said
    box_xyxy: str = Field(max_length=64)  # JSON [x1, y1, x2, y2], snapshot px
    detected_box_xyxy: str | None = Field(default=None, max_length=64)  # the detector's own
    corrected: bool = False  # the operator moved the box or changed the class
    model_version: str | None = Field(default=None, max_length=64, index=True)
    reviewed_by: str = Field(max_length=64)
    reviewed_at: datetime | None = _ts(nullable=False)


class ModelVersionRow(SQLModel, table=True):
    """A detector weights version the service has heard of: from a candidate that carried it
    (``first_seen_at``), or promoted (``flyonce model promote``: sha256, figures)."""

    __tablename__ = "model_versions"

    version: str = Field(primary_key=True, max_length=64)
    sha256: str | None = Field(default=None, max_length=64)
    parent: str | None = Field(default=None, max_length=64)
    figures: str | None = Field(default=None, sa_type=sa.Text)  # JSON
    note: str | None = Field(default=None, sa_type=sa.Text)
    first_seen_at: datetime | None = _ts()
    promoted_at: datetime | None = _ts()
