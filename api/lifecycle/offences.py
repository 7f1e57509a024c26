"""First-offence leniency and repeats (首违免罚): what an operator's confirmation makes of a violation.

A confirmed violation with no confirmed violation of the same type within `radius_m` of it in the
look-back before it is a **first** offence, and the suggestion is a warning. Otherwise it is a
**repeat**: the suggestion is a penalty, or a referral once `referral_repeats` earlier violations
lie in the look-back; the earlier events are kept on the event, newest first. The decision is
taken once, when the operator confirms, written on the event and into the audit trail (a row that
keeps the state, like dispatch's notes), and never rewritten by later events.

Decisions (no one to ask, so written down here):

- **Same type only.** A street stall and a mobile fuel sale at one corner are different offenders
  committing different offences; neither makes the other a repeat.
- **An earlier violation counts once it was dealt with**: reviewed as real and resolved (resolved,
  or evaluated after a resolution) by the time this one is confirmed. One still open at the same
  place (confirmed, assigned, on scene) is the same occurrence seen again — the vendor has not yet
  been warned, so leniency still applies — not an earlier offence. A rejected event is evaluated
  without ever being resolved, so it never counts, whatever happened to it later. The
  disposition does not matter: a stall persuaded away was still a violation. (Hot spots, by
  contrast, count every violation reviewed as real, open or not: `confirmed_violation()`.)
- **The look-back runs back from when the violation was detected** (service clock: mission time
  in simulation), not from the review, so a slow review neither shortens nor lengthens it; an
  earlier violation must have been detected no later than this one.
- **Distance** is geodesic on WGS84 (pyproj), and a violation exactly `radius_m` away is at the
  same place. SQL narrows the candidates first (type, state, the indexed detected_at, and a
  latitude/longitude box a little larger than the circle); only those few get an exact distance.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from pyproj import Geod
from sqlmodel import Session, select

from api.core.models import AuditEntry, Event
from api.lifecycle.schemas import PriorEvent
from api.lifecycle.states import State

ACTOR = "system"
FIRST, REPEAT = "first", "repeat"
WARNING, PENALTY, REFERRAL = "warning", "penalty", "referral"

_GEOD = Geod(ellps="WGS84")
# The shortest degree of latitude (at the equator) and of longitude per cos(lat): the box they
# give is never smaller than the circle.
_M_PER_DEG_LAT_MIN = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0
_LISTED_IN_AUDIT = 5


@dataclass(frozen=True)
class OffenceRules:
    """Where and how long an earlier violation makes a new one a repeat."""

    radius_m: float = 50.0
    lookback: timedelta = timedelta(days=90)
    referral_repeats: int = 2  # suggest referral from this many earlier violations on

    @classmethod
    def from_settings(cls, settings) -> OffenceRules:
        return cls(radius_m=settings.offence_radius_m,
                   lookback=timedelta(days=settings.offence_lookback_days),
                   referral_repeats=settings.offence_referral_repeats)

    def describe(self) -> str:
        days = self.lookback.total_seconds() / 86_400
        return f"{self.radius_m:g} m / {days:g} d"


@dataclass(frozen=True)
class Assessment:
    offence: str
    suggested_disposition: str
    prior_event_ids: list[int]


def confirmed_violation() -> sa.ColumnElement[bool]:
    """SQL: the event was reviewed as a real violation (never one that was rejected)."""
    return sa.or_(
        Event.state.in_([State.CONFIRMED.value, State.ASSIGNED.value, State.ON_SCENE.value,
                         State.RESOLVED.value]),
        sa.and_(Event.state == State.EVALUATED.value, Event.resolved_at.is_not(None)),
    )


def degree_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) that holds every point within `radius_m` of (lat, lon)."""
    dlat = radius_m / _M_PER_DEG_LAT_MIN * 1.01
    cos_lat = math.cos(math.radians(min(89.0, abs(lat) + dlat)))
    dlon = min(180.0, radius_m / (_M_PER_DEG_LON_EQ * cos_lat) * 1.01)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def distances_m(lat: float, lon: float, lats: list[float], lons: list[float]) -> list[float]:
    """Geodesic distances on WGS84 from (lat, lon) to each of the points."""
    if not lats:
        return []
    _, _, dist = _GEOD.inv([lon] * len(lons), [lat] * len(lats), lons, lats)
    return [float(d) for d in dist]


def earlier_violations(session: Session, event: Event, rules: OffenceRules) -> list[Event]:
    """Resolved violations of the event's type within the radius in the look-back, newest first."""
    min_lat, max_lat, min_lon, max_lon = degree_box(event.lat, event.lon, rules.radius_m)
    query = select(Event).where(
        Event.type == event.type,
        Event.id != event.id,
        Event.detected_at >= event.detected_at - rules.lookback,
        Event.detected_at <= event.detected_at,
        Event.lat.between(min_lat, max_lat),
        Event.lon.between(min_lon, max_lon),
        Event.resolved_at.is_not(None),  # dealt with: see the module's docstring
    )
    # Sorted here, not in SQL: an ORDER BY detected_at lures the planner onto that index, and it
    # then walks every event of the look-back instead of the few in the box.
    rows = sorted(session.exec(query).all(), key=lambda e: (e.detected_at, e.id), reverse=True)
    dist = distances_m(event.lat, event.lon, [e.lat for e in rows], [e.lon for e in rows])
    return [e for e, d in zip(rows, dist) if d <= rules.radius_m]


def assess(session: Session, event: Event, *, now: datetime,
           rules: OffenceRules | None = None) -> Assessment:
    """Decide first offence or repeat for a just-confirmed event, store it and add its audit row.

    The caller holds the event's row lock and commits. On PostgreSQL confirmations of one type
    queue behind each other here, so two at the same corner cannot both be first.
    """
    rules = rules or OffenceRules()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                        {"key": f"flyonce:offence:{event.type}"})
    prior = earlier_violations(session, event, rules)
    ids = [e.id for e in prior]
    if not prior:
        result = Assessment(FIRST, WARNING, [])
        reason = f"first offence (none within {rules.describe()}): suggest {WARNING}"
    else:
        suggested = REFERRAL if len(prior) >= rules.referral_repeats else PENALTY
        result = Assessment(REPEAT, suggested, ids)
        listed = ", ".join(f"#{i}" for i in ids[:_LISTED_IN_AUDIT])
        more = f" and {len(ids) - _LISTED_IN_AUDIT} more" if len(ids) > _LISTED_IN_AUDIT else ""
        reason = f"repeat of {listed}{more} within {rules.describe()}: suggest {suggested}"
    event.offence = result.offence
    event.suggested_disposition = result.suggested_disposition
    event.prior_event_ids = json.dumps(ids)
    session.add(event)
    session.add(AuditEntry(event_id=event.id, at=now, actor=ACTOR, from_state=event.state,
                           to_state=event.state, reason=reason))
    return result


def prior_events(session: Session, event: Event) -> list[PriorEvent]:
    """The earlier violations recorded on the event (id, time, state, disposition), newest first."""
    ids = json.loads(event.prior_event_ids) if event.prior_event_ids else []
    if not ids:
        return []
    found = {e.id: e for e in session.exec(select(Event).where(Event.id.in_(ids))).all()}
    return [PriorEvent.model_validate(found[i]) for i in ids if i in found]


def is_confirmed_violation(event: Event) -> bool:
    """`confirmed_violation()` for an event already loaded."""
    return event.state in (State.CONFIRMED, State.ASSIGNED, State.ON_SCENE, State.RESOLVED) or (
        event.state == State.EVALUATED and event.resolved_at is not None)
