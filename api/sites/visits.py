"""Site visits in the service: planning under the rules, approving exceptions, the notice and
its public task-code link, holding the visit, and the oversight list.

A visit's states: ``pending_approval`` (it needs an exception's approver) → ``planned`` →
``noticed`` (its notice went out, at least `NOTICE_WORKING_DAYS` working days ahead) → ``done``.
A visit is held only once noticed: one without its notice is refused. The notice carries an
unguessable code of the same form as a task code (`api.enforcement.taskcodes`), whose link
opens the printable notice without a login. Every step writes a `SiteAudit` row in its own
transaction; planning locks the site's row so two planners cannot both take the last visit
under a cap.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, func, select

from api.core.errors import BadInput, Conflict, NotFound
from api.core.models import Event, Site, SiteAudit, SiteVisit
from api.enforcement import taskcodes
from api.lifecycle.offences import is_confirmed_violation
from api.sites import calendar, grading
from api.sites.planning import VisitRefused, check_visit, earliest_visit_day
from api.sites.registry import get_site, inside
from api.sites.rules import NOTICE_WORKING_DAYS

PENDING, PLANNED, NOTICED, DONE = "pending_approval", "planned", "noticed", "done"


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def _calendar(fn, *args):  # noqa: ANN001, ANN202
    try:
        return fn(*args)
    except calendar.CalendarOutOfRange as exc:
        raise BadInput(str(exc)) from exc


def _counts(session: Session, site_id: int, year: int) -> tuple[int, int]:
    in_year = (SiteVisit.site_id == site_id, SiteVisit.visit_day >= date(year, 1, 1),
               SiteVisit.visit_day < date(year + 1, 1, 1))
    total = session.exec(select(func.count()).select_from(SiteVisit).where(*in_year)).one()
    by_grade = session.exec(select(func.count()).select_from(SiteVisit).where(
        *in_year, SiteVisit.basis == "grade")).one()
    return total, by_grade


def plan(session: Session, site_id: int, *, visit_day: date, start_time: str, basis: str,
         event_id: int | None, note: str | None, exception: str | None, items: str,
         inspectors: str, tz: str, actor: str, now: datetime) -> SiteVisit:
    """Plan a visit to the site (the caller holds `writing` and commits); Conflict saying which
    rule refuses it, BadInput for a basis that does not hold."""
    site = session.get(Site, site_id, with_for_update=True)
    if site is None:
        raise NotFound(f"no site {site_id}; GET /api/v1/sites lists them")
    if basis == "finding":
        event = session.get(Event, event_id) if event_id else None
        if event is None:
            raise BadInput("a visit on a finding names the event a non-site look found "
                           "(event_id)")
        if not is_confirmed_violation(event):
            raise BadInput(f"event {event.id} is '{event.state}', not a violation reviewed as "
                           "real: a non-site look found nothing to visit for")
        if not inside(site, event):
            raise BadInput(f"event {event.id} lies outside site {site.id}'s area")
    elif event_id is not None:
        raise BadInput("event_id goes with basis 'finding' only")
    if basis == "complaint" and not (note and note.strip()):
        raise BadInput("a visit on a complaint says which complaint (note)")
    grade = grading.grade_letter(session, site.id, visit_day.year)
    total, by_grade = _counts(session, site.id, visit_day.year)
    today = local_today(now, tz)
    try:
        terms = _calendar(lambda: check_visit(
            grade=grade, visit_day=visit_day, today=today, basis=basis, exception=exception,
            visits_this_year=total, grade_visits_this_year=by_grade))
    except VisitRefused as exc:
        raise Conflict(f"site {site.id} (grade {grade}): {exc}") from exc
    needs = bool(terms.needs_exception)
    visit = SiteVisit(
        site_id=site.id, visit_day=visit_day, grade=grade, basis=basis, basis_event_id=event_id,
        basis_note=note, exception=exception if needs else None,
        exception_why="; ".join(terms.needs_exception) or None, approve_by=terms.approve_by,
        items=items, inspectors=inspectors, start_time=start_time,
        state=PENDING if needs else PLANNED, created_by=actor, created_at=now)
    session.add(visit)
    session.flush()
    why = f"; exception '{exception}' needs approval by {terms.approve_by}: " \
          f"{visit.exception_why}" if needs else ""
    session.add(SiteAudit(site_id=site.id, visit_id=visit.id, at=now, actor=actor,
                          action="visit planned",
                          reason=f"{visit_day} on {basis} (grade {grade}){why}"))
    return visit


def get_visit(session: Session, visit_id: int, *, lock: bool = False) -> SiteVisit:
    visit = session.get(SiteVisit, visit_id, with_for_update=lock)
    if visit is None:
        raise NotFound(f"no site visit {visit_id}; GET /api/v1/site-visits lists them")
    return visit


def approve(session: Session, visit_id: int, *, note: str, actor: str, tz: str,
            now: datetime) -> SiteVisit:
    """Approve a visit's exception; an approval after its `approve_by` day is recorded as late
    (and shown so to oversight), not refused. The caller commits."""
    visit = get_visit(session, visit_id, lock=True)
    if visit.state != PENDING:
        raise Conflict(f"site visit {visit.id} is '{visit.state}': only a visit waiting for an "
                       "exception's approval can be approved")
    visit.state, visit.approver, visit.approved_at = PLANNED, actor, now
    late = local_today(now, tz) > visit.approve_by
    session.add(visit)
    session.add(SiteAudit(site_id=visit.site_id, visit_id=visit.id, at=now, actor=actor,
                          action="exception approved",
                          reason=f"'{visit.exception}': {note}"
                                 + (f" (LATE: due by {visit.approve_by})" if late else "")))
    return visit


def issue_notice(session: Session, visit_id: int, *, actor: str, tz: str,
                 now: datetime) -> SiteVisit:
    """Send the visit's notice today: Conflict unless it is planned (approved) and today is at
    least NOTICE_WORKING_DAYS working days before the visit. The caller commits."""
    visit = get_visit(session, visit_id, lock=True)
    if visit.state == PENDING:
        raise Conflict(f"site visit {visit.id} needs its exception approved before the notice")
    if visit.state != PLANNED:
        raise Conflict(f"site visit {visit.id} is '{visit.state}': its notice went out already")
    today = local_today(now, tz)
    earliest = _calendar(earliest_visit_day, today)
    if visit.visit_day < earliest:
        raise Conflict(f"a notice sent today ({today}) allows a visit from {earliest} on "
                       f"({NOTICE_WORKING_DAYS} working days); site visit {visit.id} on "
                       f"{visit.visit_day} is too soon: plan a new day")
    visit.state, visit.noticed_at = NOTICED, now
    visit.notice_code = secrets.token_urlsafe(16)
    session.add(visit)
    session.add(SiteAudit(site_id=visit.site_id, visit_id=visit.id, at=now, actor=actor,
                          action="notice sent",
                          reason=f"visit {visit.visit_day} {visit.start_time}; earliest allowed "
                                 f"{earliest}"))
    return visit


def hold(session: Session, visit_id: int, *, actor: str, tz: str, now: datetime) -> SiteVisit:
    """Record the visit as held: refused without its notice, or before its day."""
    visit = get_visit(session, visit_id, lock=True)
    if visit.state in (PENDING, PLANNED):
        raise Conflict(f"site visit {visit.id} has no notice: a visit without its notice "
                       f"({NOTICE_WORKING_DAYS} working days ahead) is refused")
    if visit.state != NOTICED:
        raise Conflict(f"site visit {visit.id} is '{visit.state}' already")
    if local_today(now, tz) < visit.visit_day:
        raise Conflict(f"site visit {visit.id} is announced for {visit.visit_day}, not earlier")
    visit.state, visit.done_at = DONE, now
    session.add(visit)
    session.add(SiteAudit(site_id=visit.site_id, visit_id=visit.id, at=now, actor=actor,
                          action="visit held", reason=str(visit.visit_day)))
    return visit


def visits_in(session: Session, year: int, *, site_id: int | None = None,
              exceptions_only: bool = False) -> list[SiteVisit]:
    query = select(SiteVisit).where(SiteVisit.visit_day >= date(year, 1, 1),
                                    SiteVisit.visit_day < date(year + 1, 1, 1))
    if site_id is not None:
        query = query.where(SiteVisit.site_id == site_id)
    if exceptions_only:
        query = query.where(SiteVisit.exception.is_not(None))
    return list(session.exec(query.order_by(SiteVisit.visit_day, SiteVisit.id)).all())


def oversight_row(visit: SiteVisit, *, tz: str, now: datetime) -> dict:
    """An exception as the oversight view shows it: on time, late, or overdue (not yet approved
    past its day)."""
    today = local_today(now, tz)
    if visit.approved_at is not None:
        status = "late" if local_today(visit.approved_at, tz) > visit.approve_by else "on_time"
    else:
        status = "overdue" if today > visit.approve_by else "waiting"
    return {"status": status}


def find_by_code(session: Session, code: str) -> tuple[SiteVisit, Site]:
    """The noticed visit with this notice code and its site; NotFound (the same for any code)."""
    if not taskcodes.is_well_formed(code):
        raise NotFound(NOTICE_INVALID)
    visit = session.exec(select(SiteVisit).where(SiteVisit.notice_code == code)).first()
    if visit is None:
        raise NotFound(NOTICE_INVALID)
    return visit, get_site(session, visit.site_id)


NOTICE_INVALID = "this notice code is not valid; check that the link or QR code is complete"
