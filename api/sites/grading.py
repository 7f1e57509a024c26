"""Yearly A–D grades: a site's record, the rule that grades it, overrides, the grade in force.

A site's grade for year Y comes from its record of year Y-1 (local calendar years): the
violations reviewed as real inside its area, how many of them were repeats
(`api.lifecycle.offences`: the first-offence decision taken at confirmation), how many were not
resolved within `RESOLVE_WITHIN_DAYS`, complaints (external ones imported with the scores, plus
visits planned on a complaint in flyonce), and the lowest external score imported for Y-1.
Grades are rows, never updated: a recomputation adds rows, and the newest row of a (site, year)
is in force. A recomputation leaves a site whose grade for the year was overridden alone (the
admin's decision stands until another override), and says so.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, func, select

from api.core.errors import BadInput
from api.core.models import Site, SiteAudit, SiteGrade, SiteScore, SiteVisit
from api.patrols.requests import local_day_start
from api.sites.registry import violations_in
from api.sites.rules import RESOLVE_WITHIN_DAYS, UNGRADED_AS, grade_for


@dataclass(frozen=True)
class Record:
    year: int
    violations: int
    repeats: int
    late: int
    complaints: int
    external_score: float | None


def record_of(session: Session, site: Site, year: int, *, tz: str, now: datetime) -> Record:
    """The site's record in the local calendar year `year`, as of `now`."""
    since = local_day_start(date(year, 1, 1), tz)
    until = local_day_start(date(year + 1, 1, 1), tz)
    events = violations_in(session, site, since, until)
    within = timedelta(days=RESOLVE_WITHIN_DAYS)
    late = sum(1 for e in events
               if ((e.resolved_at or now) - e.detected_at) > within)  # unresolved: as of now
    scores = session.exec(select(SiteScore).where(SiteScore.site_id == site.id,
                                                  SiteScore.year == year)).all()
    complaint_visits = session.exec(select(func.count()).select_from(SiteVisit).where(
        SiteVisit.site_id == site.id, SiteVisit.basis == "complaint",
        SiteVisit.visit_day >= date(year, 1, 1), SiteVisit.visit_day < date(year + 1, 1, 1))).one()
    known = [s.score for s in scores if s.score is not None]
    return Record(year=year, violations=len(events),
                  repeats=sum(1 for e in events if e.offence == "repeat"), late=late,
                  complaints=sum(s.complaints for s in scores) + complaint_visits,
                  external_score=min(known) if known else None)


def in_force(session: Session, site_id: int, year: int) -> SiteGrade | None:
    """The grade row in force for the site in `year` (the newest), or None if never graded."""
    return session.exec(select(SiteGrade).where(SiteGrade.site_id == site_id,
                                                SiteGrade.year == year)
                        .order_by(SiteGrade.at.desc(), SiteGrade.id.desc())).first()


def grade_letter(session: Session, site_id: int, year: int) -> str:
    """The grade planning uses: the one in force, else UNGRADED_AS."""
    row = in_force(session, site_id, year)
    return row.grade if row else UNGRADED_AS


def compute(session: Session, year: int, *, tz: str, actor: str, now: datetime,
            site_ids: list[int] | None = None) -> tuple[list[SiteGrade], list[int]]:
    """Grade every site (or `site_ids`) for `year` from its record of year - 1; (the new grade
    rows, the ids of sites skipped because an override is in force). The caller commits."""
    query = select(Site).order_by(Site.id)
    if site_ids is not None:
        query = query.where(Site.id.in_(site_ids))
    graded, skipped = [], []
    in_force_now = grades_in_force(session, year)  # one query, not one per site
    for site in session.exec(query).all():
        current = in_force_now.get(site.id)
        if current is not None and current.source == "override":
            skipped.append(site.id)
            continue
        record = record_of(session, site, year - 1, tz=tz, now=now)
        rule = grade_for(asdict(record))
        row = SiteGrade(site_id=site.id, year=year, grade=rule.grade, source="computed",
                        rule_id=rule.id, rule_text=rule.text,
                        record_json=json.dumps(asdict(record)),
                        actor=actor, at=now)
        session.add(row)
        session.add(SiteAudit(site_id=site.id, at=now, actor=actor, action="graded",
                              reason=f"{year}: {rule.grade} by rule {rule.id} ({rule.text})"))
        graded.append(row)
    session.flush()
    return graded, skipped


def override(session: Session, site: Site, year: int, grade: str, reason: str, *, actor: str,
             now: datetime) -> SiteGrade:
    """An admin's grade for the site's year, with the reason; in force until the next override.
    The caller commits."""
    reason = " ".join(reason.split())
    if len(reason) < 5:
        raise BadInput("an override needs a reason (at least 5 characters) for the audit trail")
    before = in_force(session, site.id, year)
    row = SiteGrade(site_id=site.id, year=year, grade=grade, source="override", rule_id="override",
                    rule_text=f"set by {actor}: {reason}",
                    record_json=before.record_json if before else "{}", reason=reason,
                    actor=actor, at=now)
    session.add(row)
    was = f"{before.grade} ({before.rule_id})" if before else "ungraded"
    session.add(SiteAudit(site_id=site.id, at=now, actor=actor, action="grade override",
                          reason=f"{year}: {was} -> {grade}: {reason}"))
    session.flush()
    return row


def history(session: Session, site_id: int) -> list[SiteGrade]:
    """Every grade row of the site, newest first."""
    return list(session.exec(select(SiteGrade).where(SiteGrade.site_id == site_id)
                             .order_by(SiteGrade.year.desc(), SiteGrade.at.desc(),
                                       SiteGrade.id.desc())).all())


def grades_in_force(session: Session, year: int) -> dict[int, SiteGrade]:
    """The grade row in force for `year` of every graded site, by site id."""
    rows = session.exec(select(SiteGrade).where(SiteGrade.year == year)
                        .order_by(SiteGrade.at, SiteGrade.id)).all()
    return {row.site_id: row for row in rows}  # the newest wins
