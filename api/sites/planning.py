"""Whether a site visit may be planned, and on what terms: pure rules, no database.

`check_visit` applies, in order: the visit's day is an official working day; the notice can
still go out `NOTICE_WORKING_DAYS` ahead of it (counted from `today`); the basis is one that
non-site-first allows (a finding, a complaint, or a visit the grade calls for and has left);
then the grade's yearly cap and quiet period. Past a cap or inside a quiet period the visit
needs one of the listed exceptions — and then an approver, within
`APPROVE_WITHIN_WORKING_DAYS` working days of the planning day. A visit the grade calls for is
routine and can never be an exception.

`plan_year` lays out a year of visits for many sites under these same checks (the benchmark's
planner, and what `flyonce` would propose); `plan_without_rules` is the old practice it is
measured against: every scheduled inspection is a site visit, and every complaint one more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from api.sites import calendar
from api.sites.rules import (
    APPROVE_WITHIN_WORKING_DAYS,
    EXCEPTIONS,
    NOTICE_WORKING_DAYS,
    POLICIES,
    GradePolicy,
)


class VisitRefused(ValueError):
    """A visit the rules do not allow; the message says which rule and what would be allowed."""


@dataclass(frozen=True)
class VisitTerms:
    """What planning a visit found: why it needs an exception (empty: it does not), the last
    day the exception may be approved, and the earliest day a notice sent today allows."""

    needs_exception: tuple[str, ...]
    approve_by: date | None
    earliest_day: date


def in_quiet_period(policy: GradePolicy, day: date) -> bool:
    """Whether `day` falls in the grade's monthly quiet period (its start day to month end)."""
    return day.day >= policy.quiet_from_day


def earliest_visit_day(today: date) -> date:
    """The first day a visit may be held when its notice goes out `today`."""
    return calendar.add_working_days(today, NOTICE_WORKING_DAYS)


def check_visit(*, grade: str, visit_day: date, today: date, basis: str,
                exception: str | None, visits_this_year: int,
                grade_visits_this_year: int) -> VisitTerms:
    """The terms of a visit to a site of `grade` on `visit_day`, planned `today`; VisitRefused
    (saying which rule) when the rules forbid it. `visits_this_year` counts the site's planned
    and held visits in the visit's year, `grade_visits_this_year` those the grade called for."""
    policy = POLICIES[grade]
    if not calendar.is_working_day(visit_day):
        raise VisitRefused(f"{visit_day.isoformat()} is not an official working day; site visits "
                           "are held on working days")
    earliest = earliest_visit_day(today)
    if visit_day < earliest:
        raise VisitRefused(
            f"a notice sent on {today.isoformat()} allows a visit from {earliest.isoformat()} on "
            f"({NOTICE_WORKING_DAYS} working days ahead, holidays and adjusted working weekends "
            f"counted); {visit_day.isoformat()} is too soon")
    if basis == "grade" and grade_visits_this_year >= policy.grade_visits_per_year:
        raise VisitRefused(
            f"grade {grade} calls for {policy.grade_visits_per_year} visit(s) a year and "
            f"{grade_visits_this_year} are planned: non-site inspection first, so a further "
            "visit needs a finding from a non-site look or a complaint")
    why = []
    if policy.cap_per_year is not None and visits_this_year >= policy.cap_per_year:
        why.append(f"grade {grade}'s cap of {policy.cap_per_year} site visit(s) a year is reached "
                   f"({visits_this_year} planned)")
    if in_quiet_period(policy, visit_day):
        why.append(f"{visit_day.isoformat()} is in grade {grade}'s quiet period (from day "
                   f"{policy.quiet_from_day} to the month's end)")
    if why and basis == "grade":
        raise VisitRefused("; ".join(why) + ": a routine visit the grade calls for cannot be an "
                           "exception; pick another day")
    if why and exception is None:
        raise VisitRefused("; ".join(why) + ": it needs one of the exceptions "
                           f"({', '.join(EXCEPTIONS)}) and an approver")
    approve_by = (calendar.add_working_days(today, APPROVE_WITHIN_WORKING_DAYS) if why else None)
    return VisitTerms(tuple(why), approve_by, earliest)


# ---------------------------------------------------------------- a year's plan


@dataclass(frozen=True)
class Trigger:
    """Something that may call for a visit: a non-site look (found something or not) or a
    complaint, on a local day."""

    day: date
    kind: str  # "look" | "complaint"
    found: bool = False


@dataclass
class SiteYear:
    site_id: int
    grade: str
    triggers: Sequence[Trigger] = ()


class PlannedVisit(NamedTuple):
    site_id: int
    day: date
    basis: str
    exception: str | None
    notice_day: date  # the notice goes out the day the need arose


@dataclass
class YearPlan:
    visits: list[PlannedVisit] = field(default_factory=list)
    looks: int = 0  # non-site looks
    looks_clean: int = 0  # looks that found nothing: each one a site visit the old way
    exceptions: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # why a wanted visit was not planned


def _next_allowed(policy: GradePolicy, day: date, last: date) -> date | None:
    """The first working day from `day` outside the quiet period, not after `last`."""
    while day <= last:
        if not in_quiet_period(policy, day) and calendar.is_working_day(day):
            return day
        day = (day.replace(day=1) + timedelta(days=32)).replace(day=1) \
            if in_quiet_period(policy, day) else day + timedelta(days=1)
    return None


def _next_working(day: date, last: date) -> date | None:
    while day <= last:
        if calendar.is_working_day(day):
            return day
        day += timedelta(days=1)
    return None


def plan_year(sites: Iterable[SiteYear], year: int) -> YearPlan:
    """A year of site visits under the rules: the grade's own visits at the start of each of its
    periods, and one visit per finding or complaint, each as early as its notice allows; a
    wanted visit the rules refuse is counted under `refused` with the reason."""
    plan = YearPlan()
    last = date(year, 12, 31)
    for site in sites:
        policy = POLICIES[site.grade]
        wanted: list[tuple[date, str, str | None]] = []
        n = policy.grade_visits_per_year
        for k in range(n):  # spread over the year: quarters for 4, the year's start for 1
            wanted.append((date(year, 1 + 12 * k // n, 1), "grade", None))
        for t in site.triggers:
            if t.kind == "look":
                plan.looks += 1
                plan.looks_clean += not t.found
                if t.found:
                    wanted.append((t.day, "finding", "case"))
            else:
                wanted.append((t.day, "complaint", "complaint"))
        wanted.sort(key=lambda w: w[0])
        count = grade_count = 0
        for day, basis, exception in wanted:
            try:
                earliest = earliest_visit_day(day)
            except calendar.CalendarOutOfRange:  # the next year's calendar is not published
                earliest = None
            if earliest is None or earliest > last:
                plan.refused["notice runs into the next year"] = \
                    plan.refused.get("notice runs into the next year", 0) + 1
                continue
            visit_day = (_next_allowed(policy, earliest, last) if basis == "grade"
                         else _next_working(earliest, last))
            if visit_day is None:
                plan.refused["no allowed day left in the year"] = \
                    plan.refused.get("no allowed day left in the year", 0) + 1
                continue
            try:
                terms = check_visit(grade=site.grade, visit_day=visit_day, today=day, basis=basis,
                                    exception=exception, visits_this_year=count,
                                    grade_visits_this_year=grade_count)
            except VisitRefused as exc:
                reason = "cap reached" if "cap" in str(exc) else "refused"
                plan.refused[reason] = plan.refused.get(reason, 0) + 1
                continue
            count += 1
            grade_count += basis == "grade"
            plan.exceptions += bool(terms.needs_exception)
            plan.visits.append(PlannedVisit(site.site_id, visit_day, basis,
                                            exception if terms.needs_exception else None, day))
    return plan


def plan_without_rules(sites: Iterable[SiteYear]) -> int:
    """Site visits the old practice makes: every scheduled inspection on site, plus one per
    complaint, no caps, no quiet periods."""
    return sum(len(site.triggers) for site in sites)
