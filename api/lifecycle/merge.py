"""One violation, one event: whether a candidate is a further sighting of an event already known.

A candidate of a type, at a place and time, is decided in this order (``find_home``):

1. **Merged** into the nearest *open* event of the same type (alerted, confirmed, assigned, on
   scene) within ``radius_m`` whose last sighting is at most ``window_s`` before the candidate.
   Two drones passing one stall, the same drone's next pass, and a hotline call about a stall on
   the map all land here, whatever their source.
2. **Absorbed** by the nearest event of the type *rejected* within ``quiet_s`` before the
   candidate, within ``radius_m``: an operator who said "that is a café umbrella" is not asked
   again about it for a while. It is recorded on the rejected event, and nothing alerts.
3. Otherwise a **new event**. A violation seen again after its event was resolved is therefore a
   new event, and the offence rules see it as a repeat when it is confirmed.

Decisions (no one to ask, so written down here):

- **Distance** is geodesic (pyproj, as the offence rules measure it) from the event's current
  position, and exactly ``radius_m`` away still merges.
- **The event's position and confidence follow its sightings**: the position is the mean of the
  sightings' positions weighted by confidence / max(position error, 1 m)², so a sure, precise look
  counts most; the confidence is the best sighting's (one clear look is what an operator needs;
  many weak looks are not made surer by their number). The zone and target stay those of the
  first sighting: the alert's promise does not move under the operator. Nor does the position
  move to within ``radius_m`` of another open event of the type (two events that close would
  have been one): the sighting is kept, the position stays where it was.
- **Race-free**: the decision and the write happen in one transaction that first takes a lock on
  the place. On PostgreSQL that is a transaction advisory lock on every grid cell (``radius_m``
  across) around the candidate: two candidates that could merge always share a cell, so they
  queue, and the second sees the first's event. On SQLite the one-writer lock that every write
  takes (``core.db.writing``) already serialises them, across processes too.
- ``radius_m`` 0 turns merging off (every candidate opens an event, as before this module).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from api.core.models import AuditEntry, Event, Sighting
from api.lifecycle import writes
from api.lifecycle.offences import degree_box, distances_m
from api.lifecycle.schemas import CandidateIn
from api.lifecycle.states import OPEN_STATES, State

MERGED, ABSORBED, FIRST, SPLIT = "merged", "absorbed", "first", "split"
_NEVER = datetime.max.replace(tzinfo=UTC)
_M_PER_DEG_LAT = 111_320.0
_MIN_ERROR_M = 1.0


@dataclass(frozen=True)
class MergeRules:
    """How close and how recent a candidate must be to join an event (see the module docstring)."""

    radius_m: float = 15.0
    window_s: float = 12 * 3600.0
    quiet_s: float = 4 * 3600.0

    @classmethod
    def from_settings(cls, settings) -> MergeRules:  # noqa: ANN001  (api.core.settings.Settings)
        return cls(settings.merge_radius_m, settings.merge_window_s, settings.reject_quiet_s)

    @property
    def enabled(self) -> bool:
        return self.radius_m > 0


@dataclass(frozen=True)
class Home:
    """Where a candidate belongs: an existing event, how far from it, and how (merged/absorbed);
    ``neighbours`` are the open events of the type within twice the radius, (id, lat, lon)."""

    event: Event
    distance_m: float
    kind: str
    neighbours: list[tuple[int, float, float]] = field(default_factory=list)


def lock_place(session: Session, event_type: str, lat: float, lon: float, radius_m: float) -> None:
    """Queue behind every other transaction deciding a candidate that could join the same event.

    PostgreSQL only (SQLite's write lock is already global); the caller's transaction holds the
    locks until it ends.
    """
    lock_places(session, [(event_type, lat, lon)], radius_m)


def lock_places(session: Session, places: list[tuple[str, float, float]],
                radius_m: float) -> None:
    """`lock_place` for several candidates at once (a batch, before any of it is decided).

    All in one statement, in the order of the locks' own keys: two transactions that each take
    their whole set this way never wait on each other in a circle. (Taking one candidate's
    locks after another's, a batch [A, B] and a batch [B, A] deadlocked, and PostgreSQL broke
    the tie after a second by failing one of them.) Locks are re-entrant, so taking a held one
    again costs no wait.
    """
    if session.get_bind().dialect.name != "postgresql" or radius_m <= 0 or not places:
        return
    keys = list({key for event_type, lat, lon in places
                 for key in _cell_keys(event_type, lat, lon, radius_m)})
    session.execute(sa.text("SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtext(k) "
                            "AS h FROM unnest(CAST(:keys AS text[])) AS k) AS locks ORDER BY h"),
                    {"keys": keys})


def _cell_keys(event_type: str, lat: float, lon: float, radius_m: float) -> list[str]:
    """The grid cells (``radius_m`` across) around a point: two candidates that could merge
    always share one."""
    cell_deg_lat = radius_m / _M_PER_DEG_LAT
    cell_deg_lon = cell_deg_lat / max(math.cos(math.radians(lat)), 0.01)
    i, j = math.floor(lat / cell_deg_lat), math.floor(lon / cell_deg_lon)
    return [f"flyonce:merge:{event_type}:{i + di}:{j + dj}"
            for di in (-1, 0, 1) for dj in (-1, 0, 1)]


def _nearest(rows: list[Event], dist: list[float], radius_m: float) -> tuple[Event, float] | None:
    inside = sorted(((d, e.id, e) for e, d in zip(rows, dist) if d <= radius_m),
                    key=lambda x: (x[0], x[1]))
    return (inside[0][2], inside[0][0]) if inside else None


_OPEN = [s.value for s in OPEN_STATES]
# Built once with bound parameters: building SQL expressions costs more than running them.
_NEAR = (Event.type == sa.bindparam("type"),
         Event.lat.between(sa.bindparam("min_lat"), sa.bindparam("max_lat")),
         Event.lon.between(sa.bindparam("min_lon"), sa.bindparam("max_lon")))
_HOMES = select(Event).where(*_NEAR, sa.or_(
    Event.state.in_(_OPEN),
    # A rejection is evaluated at once when auto-evaluate is on: both states count.
    sa.and_(Event.state.in_([State.REJECTED.value, State.EVALUATED.value]),
            Event.reject_reason.is_not(None), Event.reviewed_at >= sa.bindparam("quiet_since"))))
_CROWD = select(Event.lat, Event.lon).where(*_NEAR, Event.id != sa.bindparam("event_id"),
                                            Event.state.in_(_OPEN))
_LOOKS = select(Sighting.lat, Sighting.lon, Sighting.confidence, Sighting.position_error_m,
                Sighting.frames, Sighting.detected_at).where(
    Sighting.event_id == sa.bindparam("event_id"))


def _box(event_type: str, lat: float, lon: float, radius_m: float) -> dict:
    min_lat, max_lat, min_lon, max_lon = degree_box(lat, lon, radius_m)
    return {"type": event_type, "min_lat": min_lat, "max_lat": max_lat, "min_lon": min_lon,
            "max_lon": max_lon}


def find_home(session: Session, event_type: str, lat: float, lon: float, at: datetime,
              rules: MergeRules) -> Home | None:
    """The event a candidate of ``event_type`` at (lat, lon), seen ``at``, belongs to; None for
    a new one. Call with the place locked (``lock_place``).

    One query: the open events of the type within twice the radius (the nearest inside the
    radius is the home; all of them are the home's neighbours, for ``attach``) and the ones
    rejected within the quiet time.
    """
    if not rules.enabled:
        return None
    quiet_since = at - timedelta(seconds=rules.quiet_s) if rules.quiet_s > 0 else _NEVER
    rows = list(session.exec(_HOMES, params={
        **_box(event_type, lat, lon, 2 * rules.radius_m), "quiet_since": quiet_since}).all())
    dist = distances_m(lat, lon, [e.lat for e in rows], [e.lon for e in rows])
    seen_since = at - timedelta(seconds=rules.window_s)
    fresh = [(e, d) for e, d in zip(rows, dist) if e.state in OPEN_STATES
             and e.last_seen_at is not None and e.last_seen_at >= seen_since]
    neighbours = [(e.id, e.lat, e.lon) for e in rows if e.state in OPEN_STATES]
    found = _nearest([e for e, _ in fresh], [d for _, d in fresh], rules.radius_m)
    if found is not None:
        return Home(found[0], found[1], MERGED, neighbours)
    rejected = [(e, d) for e, d in zip(rows, dist) if e.state not in OPEN_STATES]
    found = _nearest([e for e, _ in rejected], [d for _, d in rejected], rules.radius_m)
    return Home(found[0], found[1], ABSORBED, neighbours) if found is not None else None


def new_sighting(candidate: CandidateIn, *, event_id: int | None, kind: str, at: datetime,
                 distance_m: float | None = None) -> Sighting:
    """The sighting row a candidate becomes (the caller adds it to the session)."""
    return Sighting(
        event_id=event_id, kind=kind, source=candidate.source,
        source_event_id=candidate.source_event_id, drone_id=candidate.drone_id, detected_at=at,
        lat=candidate.lat, lon=candidate.lon, confidence=candidate.confidence,
        position_error_m=candidate.position_error_m, frames=candidate.sightings,
        distance_m=distance_m, note=candidate.note, model_version=candidate.model_version,
        box_xyxy=json.dumps([round(v, 1) for v in candidate.box_xyxy]) if candidate.box_xyxy else None)


def _looks(session: Session, event_id: int) -> list:
    """The columns of an event's sightings that its position and figures come from."""
    return list(session.exec(_LOOKS, params={"event_id": event_id}).all())


def sightings_of(session: Session, event_id: int) -> list[Sighting]:
    """An event's sightings, oldest first (the first is the one that opened it)."""
    return list(session.exec(select(Sighting).where(Sighting.event_id == event_id)
                             .order_by(Sighting.detected_at, Sighting.id)).all())


def weight(s) -> float:  # noqa: ANN001  (a Sighting, or a row of its columns)
    """How much a sighting counts toward its event's position (see the module docstring)."""
    error_m = max(s.position_error_m or _MIN_ERROR_M, _MIN_ERROR_M)
    return max(s.confidence, 1e-3) / error_m ** 2


def refit(event: Event, sightings: list) -> None:
    """Set the event's position, confidence, counts and last-seen time from its sightings."""
    if not sightings:
        return
    weights = [weight(s) for s in sightings]
    event.fit_weight = sum(weights)
    event.fit_lat_sum = sum(w * s.lat for w, s in zip(weights, sightings))
    event.fit_lon_sum = sum(w * s.lon for w, s in zip(weights, sightings))
    if len(sightings) == 1:  # exactly its one look (w·lat / w need not give lat back)
        event.lat, event.lon = sightings[0].lat, sightings[0].lon
    else:
        event.lat = event.fit_lat_sum / event.fit_weight
        event.lon = event.fit_lon_sum / event.fit_weight
    event.confidence = max(s.confidence for s in sightings)
    event.candidates = len(sightings)
    event.sightings = sum(s.frames for s in sightings)
    event.last_seen_at = max(s.detected_at for s in sightings)
    errors = [s.position_error_m for s in sightings if s.position_error_m is not None]
    event.position_error_m = min(errors) if errors else None


def folded(event: Event, s) -> dict:  # noqa: ANN001  (a Sighting)
    """What `refit` would set with one more sighting, from the event's running fit: the same
    figures (to the last bits of a float sum) without reading the earlier sightings."""
    w = weight(s)
    fit_weight = event.fit_weight + w
    fit_lat_sum, fit_lon_sum = event.fit_lat_sum + w * s.lat, event.fit_lon_sum + w * s.lon
    error = event.position_error_m
    if s.position_error_m is not None:
        error = s.position_error_m if error is None else min(error, s.position_error_m)
    return {"fit_weight": fit_weight, "fit_lat_sum": fit_lat_sum, "fit_lon_sum": fit_lon_sum,
            "lat": fit_lat_sum / fit_weight, "lon": fit_lon_sum / fit_weight,
            "confidence": max(event.confidence, s.confidence),
            "candidates": event.candidates + 1, "sightings": event.sightings + s.frames,
            "last_seen_at": max(event.last_seen_at, s.detected_at), "position_error_m": error}


def who(candidate: CandidateIn) -> str:
    """The candidate's origin as a person reads it: its drone, else its source."""
    return candidate.drone_id or candidate.source


def _crowds(session: Session, event: Event, home: Home, lat: float, lon: float, at_lat: float,
            at_lon: float, radius_m: float) -> bool:
    """Whether another open event of the type lies within ``radius_m`` of (lat, lon), where
    ``event`` would move.

    When that position is within the radius of the candidate at (at_lat, at_lon), every such
    event is among ``home.neighbours`` (twice the radius around the candidate): no query.
    """
    [moved_m] = distances_m(at_lat, at_lon, [lat], [lon])
    if moved_m <= radius_m:
        others = [(o_lat, o_lon) for i, o_lat, o_lon in home.neighbours if i != event.id]
    else:
        others = list(session.exec(_CROWD, params={
            **_box(event.type, lat, lon, radius_m), "event_id": event.id}).all())
    dist = distances_m(lat, lon, [o[0] for o in others], [o[1] for o in others])
    return any(d <= radius_m for d in dist)


def attach(session: Session, home: Home, candidate: CandidateIn, *, actor: str, at: datetime,
           now: datetime, rules: MergeRules) -> tuple[Sighting, AuditEntry]:
    """Record ``candidate`` as a further sighting of ``home.event``; the audit row says so.

    The event's position and confidence are refitted; its state does not change. Written in
    Core (``api.lifecycle.writes``); the unique source key refuses a retried candidate at the
    sighting's INSERT, the first write.
    """
    event = home.event
    sighting = new_sighting(candidate, event_id=event.id, kind=home.kind, at=at,
                            distance_m=round(home.distance_m, 2))
    writes.insert(session, [sighting])
    if event.fit_weight is None:  # stored before the running fit: fit it once from everything
        fit = Event(type=event.type, state=event.state, source=event.source,
                    source_event_id=event.source_event_id, target_s=event.target_s,
                    lat=event.lat, lon=event.lon, confidence=event.confidence)
        refit(fit, _looks(session, event.id))
        values = {k: getattr(fit, k) for k in ("fit_weight", "fit_lat_sum", "fit_lon_sum", "lat",
                                               "lon", "confidence", "candidates", "sightings",
                                               "last_seen_at", "position_error_m")}
    else:
        values = folded(event, sighting)
    if home.kind == MERGED and _crowds(session, event, home, values["lat"], values["lon"],
                                       candidate.lat, candidate.lon, rules.radius_m):
        del values["lat"], values["lon"]  # the sighting counts; the position stays
    writes.update_event(session, event, values)
    if home.kind == MERGED:
        reason = f"sighting from {who(candidate)} merged ({home.distance_m:.1f} m)"
    else:
        until = event.reviewed_at + timedelta(seconds=rules.quiet_s)
        reason = (f"sighting from {who(candidate)} absorbed ({home.distance_m:.1f} m): rejected "
                  f"at {event.reviewed_at.isoformat()} ({event.reject_reason}); no new alert "
                  f"until {until.isoformat()}")
    entry = AuditEntry(event_id=event.id, at=now, actor=actor, from_state=event.state,
                       to_state=event.state, reason=reason)
    writes.insert(session, [entry], keep=False)
    return sighting, entry
