"""The evaluator's figures for regulated sites in a year.

- **Visits per grade against caps**: the site visits planned or held (every state) by the grade
  the site had when each was planned, the cap per site and in total, how many sites reached
  their cap, and how many visits went in on an exception.
- **Non-site looks**: done patrol flights that served a site's patrol request (its drone look),
  one look per (flight, site); a look *found* something when a violation reviewed as real from
  that flight lies in the site's area. Share non-site = looks / (looks + site visits).
- **Visits avoided**: each look that found nothing stands for the site visit the old practice
  would have made (non-site inspection first).
- **C/D grade movement**: sites graded C or D for the year before, and their grade this year:
  up (towards A), the same, down, or not graded.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from sqlmodel import Session, select

from api.core.models import Event, PatrolFlight, PatrolServe, Site, SiteVisit
from api.lifecycle.offences import confirmed_violation
from api.patrols.requests import local_day_start
from api.sites.grading import grades_in_force
from api.sites.registry import inside
from api.sites.rules import GRADES, POLICIES


def _grades_in_force(session: Session, year: int) -> dict[int, str]:
    return {site_id: row.grade for site_id, row in grades_in_force(session, year).items()}


def non_site_looks(session: Session, year: int, *, tz: str) -> tuple[int, int]:
    """(looks, looks that found a violation in the site) of done flights in the local year."""
    sites = session.exec(select(Site).where(Site.patrol_request_id.is_not(None))).all()
    by_request = {s.patrol_request_id: s for s in sites}
    if not by_request:
        return 0, 0
    since = local_day_start(date(year, 1, 1), tz)
    until = local_day_start(date(year + 1, 1, 1), tz)
    rows = session.exec(select(PatrolServe.request_id, PatrolFlight.id)
                        .join(PatrolFlight, PatrolFlight.id == PatrolServe.flight_id)
                        .where(PatrolServe.request_id.in_(list(by_request)),
                               PatrolFlight.state == "done",
                               PatrolFlight.planned_start >= since,
                               PatrolFlight.planned_start < until)).all()
    looks = {(flight_id, by_request[request_id].id) for request_id, flight_id in rows}
    flights = {f for f, _ in looks}
    events = session.exec(select(Event).where(Event.patrol_flight_id.in_(flights),
                                              confirmed_violation())).all() if flights else []
    found_by_flight = defaultdict(list)
    for e in events:
        found_by_flight[e.patrol_flight_id].append(e)
    site_of = {s.id: s for s in sites}
    found = sum(1 for flight_id, site_id in looks
                if any(inside(site_of[site_id], e) for e in found_by_flight[flight_id]))
    return len(looks), found


def figures(session: Session, year: int, *, tz: str) -> dict:
    """The figures above for `year`, as a plain dict (the schema `SiteFigures`)."""
    visits = session.exec(select(SiteVisit).where(SiteVisit.visit_day >= date(year, 1, 1),
                                                  SiteVisit.visit_day < date(year + 1, 1, 1))).all()
    grades = _grades_in_force(session, year)
    sites_by_grade = Counter(grades.values())
    per_site = Counter(v.site_id for v in visits)
    grade_of_site = {v.site_id: v.grade for v in visits}
    per_grade = []
    for g in GRADES:
        cap = POLICIES[g].cap_per_year
        in_grade = [v for v in visits if v.grade == g]
        at_cap = sum(1 for s, n in per_site.items()
                     if grade_of_site[s] == g and cap is not None and n >= cap)
        per_grade.append({
            "grade": g, "sites": sites_by_grade.get(g, 0), "visits": len(in_grade),
            "cap_per_site": cap,
            "cap_total": None if cap is None else cap * sites_by_grade.get(g, 0),
            "sites_at_cap": at_cap,
            "exception_visits": sum(1 for v in in_grade if v.exception is not None)})
    looks, found = non_site_looks(session, year, tz=tz)
    inspections = looks + len(visits)
    before = {s: g for s, g in _grades_in_force(session, year - 1).items() if g in ("C", "D")}
    moves = Counter()
    for site_id, was in before.items():
        now = grades.get(site_id)
        moves["ungraded" if now is None else "up" if now < was else
              "same" if now == was else "down"] += 1
    return {
        "year": year, "per_grade": per_grade, "site_visits": len(visits),
        "non_site_looks": looks, "looks_found": found,
        "share_non_site": looks / inspections if inspections else None,
        "visits_avoided": looks - found, "cd_sites_last_year": len(before),
        "cd_moved_up": moves["up"], "cd_same": moves["same"], "cd_moved_down": moves["down"],
        "cd_ungraded": moves["ungraded"]}


