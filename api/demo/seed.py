"""An example control room: accounts, the sample town's drones and teams, and a few events.

Used by `flyonce demo` until the full simulated closed loop lands, so a newcomer sees a running
service with something in it. Idempotent: seeding twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, select

from api.core import users
from api.core.clock import Clock
from api.core.models import Drone, GroundTeam, User
from api.core.zones import ZoneIndex
from api.lifecycle import events as verbs
from api.lifecycle.schemas import AssignIn, CandidateIn

DEMO_PASSWORD = "flyonce-demo"
DEMO_USERS = (("admin", "admin", None), ("operator", "operator", None),
              ("evaluator", "evaluator", None), ("team1", "ground_team", "team-1"),
              ("detector", "detector", None))


@dataclass(frozen=True)
class SeedReport:
    users: list[str]
    drones: int
    teams: int
    events: int


def seed(session: Session, zones: ZoneIndex, clock: Clock) -> SeedReport:
    import geofence

    town = geofence.sample_town()
    now = clock.now()
    for i, dock in enumerate(town.docks):
        if session.get(Drone, f"drone-{i + 1}") is None:
            session.add(Drone(id=f"drone-{i + 1}", name=f"Drone {i + 1} ({dock.name})",
                              mavlink_url=f"tcp:127.0.0.1:{5760 + 10 * i}",
                              dock_lat=dock.lat, dock_lon=dock.lon, status="docked"))
        if session.get(GroundTeam, f"team-{i + 1}") is None:
            session.add(GroundTeam(id=f"team-{i + 1}", name=f"巡查中队 {i + 1}",
                                   lat=dock.lat, lon=dock.lon, updated_at=now))
    session.commit()
    for name, role, team in DEMO_USERS:
        if session.exec(select(User).where(User.username == name)).first() is None:
            users.add_user(session, name, DEMO_PASSWORD, role, team_id=team)
    created = 0
    # Four findings inside the town's zones, taken to different stages of the loop.
    examples = [
        ("street_stall", "com-gushan", 0.91, "alerted"),
        ("mobile_fuel_sale", "forest-wofo", 0.84, "confirmed"),
        ("street_stall", "res-beiyuan", 0.88, "assigned"),
        ("street_stall", "res-nanyuan", 0.95, "evaluated"),
    ]
    for i, (etype, zone_id, conf, stage) in enumerate(examples):
        spot = town.zones.get(zone_id).geometry.representative_point()
        candidate = CandidateIn(source="demo-seed", source_event_id=f"seed-{i}", type=etype,
                                lat=spot.y, lon=spot.x, confidence=conf,
                                detected_at=now - timedelta(minutes=10 - i))
        outcome = verbs.ingest_committed(session, candidate, zones=zones, actor="detector", now=now)
        if not outcome.created:
            continue
        created += 1
        eid = outcome.event.id
        if stage in ("confirmed", "assigned", "evaluated") and outcome.event.state == "alerted":
            verbs.review(session, eid, confirm=True, reason="seen on video", actor="operator", now=now)
            session.commit()
        if stage in ("assigned", "evaluated") and outcome.event.state == "confirmed":
            verbs.assign(session, eid, AssignIn(drone_id="drone-1", team_id="team-1", eta_s=95.0),
                         actor="operator", now=now)
            session.commit()
        if stage == "evaluated" and outcome.event.state == "assigned":
            verbs.on_scene(session, eid, actor="drone-1", now=now + timedelta(seconds=92), team_id=None)
            verbs.resolve(session, eid, disposition="persuaded", note="vendor moved to the market",
                          actor="team1", now=now + timedelta(seconds=600), team_id="team-1",
                          auto_evaluate=True)
            session.commit()
    return SeedReport(users=[u for u, _, _ in DEMO_USERS], drones=len(town.docks),
                      teams=len(town.docks), events=created)
