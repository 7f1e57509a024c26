"""Regulated sites, the pure rules: working days on China's official 2026 calendar, the grade
rule table, and a visit's terms (cap, quiet period, notice, exception approval)."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from chinese_calendar import constants

from api.sites import calendar
from api.sites.planning import (
    SiteYear,
    Trigger,
    VisitRefused,
    check_visit,
    plan_without_rules,
    plan_year,
)
from api.sites.rules import grade_for

# The State Council's notice on the 2026 holidays (国务院办公厅关于2026年部分节假日安排的通知,
# 国办发明电〔2025〕7号), as published in November 2025: the weekend days that are working days.
#   元旦 1月1日—3日放假，1月4日（周日）上班
#   春节 2月15日（腊月二十八）—23日放假，2月14日（周六）、2月28日（周六）上班
#   劳动节 5月1日—5日放假，5月9日（周六）上班
#   国庆、中秋 10月1日—7日放假，9月20日（周日）、10月10日（周六）上班
NOTICE_2026_WORKING_WEEKENDS = {date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
                                date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)}
SPRING_FESTIVAL_2026 = [date(2026, 2, 15) + timedelta(days=k) for k in range(9)]  # 15th–23rd


def test_the_package_agrees_with_the_state_council_notice() -> None:
    published = {d for d in constants.workdays if d.year == 2026}
    assert published == NOTICE_2026_WORKING_WEEKENDS
    assert all(d.weekday() >= 5 for d in published)  # each one a Saturday or Sunday
    assert [chinese_calendar.is_holiday(d) for d in SPRING_FESTIVAL_2026] == [True] * 9
    assert date(2026, 2, 23).weekday() == 0  # the last day off is a Monday


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 2, 13), True),   # Friday before the festival
    (date(2026, 2, 14), True),   # Saturday, an adjusted working day
    (date(2026, 2, 16), False),  # Monday inside the Spring Festival
    (date(2026, 2, 23), False),  # Monday, the festival's last day
    (date(2026, 2, 24), True),   # Tuesday, back at work
    (date(2026, 2, 28), True),   # Saturday, an adjusted working day
    (date(2026, 3, 1), False),   # an ordinary Sunday
    (date(2026, 1, 4), True),    # Sunday, worked for New Year
])
def test_working_days(day: date, working: bool) -> None:
    assert calendar.is_working_day(day) is working


@pytest.mark.parametrize(("notice", "n", "expected"), [
    # Thu 12 Feb: Fri 13 (1), Sat 14 worked (2), 15–23 off, Tue 24 (3), Wed 25 (4), Thu 26 (5).
    # Counting Monday–Friday only would give Thu 19 Feb, inside the festival.
    (date(2026, 2, 12), 5, date(2026, 2, 26)),
    # Tue 24 Feb: Wed 25 (1), Thu 26 (2), Fri 27 (3), Sat 28 worked (4), Mon 2 Mar (5);
    # Monday–Friday only would give Tue 3 Mar.
    (date(2026, 2, 24), 5, date(2026, 3, 2)),
    # An ordinary week: Mon 2 Mar → Mon 9 Mar.
    (date(2026, 3, 2), 5, date(2026, 3, 9)),
    # Three working days for an approval from Thu 12 Feb: Fri 13, Sat 14, Tue 24.
    (date(2026, 2, 12), 3, date(2026, 2, 24)),
])
def test_add_working_days(notice: date, n: int, expected: date) -> None:
    assert calendar.add_working_days(notice, n) == expected
    assert calendar.working_days_between(notice, expected) == n


def test_a_day_outside_the_published_years_is_refused_with_the_range() -> None:
    first, last = calendar.covered_years()
    assert (first, last) == (2004, 2026)  # chinesecalendar 1.11; a newer release moves `last`
    with pytest.raises(calendar.CalendarOutOfRange, match="covers 2004–2026"):
        calendar.add_working_days(date(2026, 12, 30), 5)  # runs into 2027
    with pytest.raises(calendar.CalendarOutOfRange):
        calendar.is_working_day(date(2003, 6, 2))


@pytest.mark.parametrize(("record", "grade", "rule"), [
    ({"violations": 0, "repeats": 0, "late": 0, "complaints": 0, "external_score": None}, "A", "A"),
    ({"violations": 0, "repeats": 0, "late": 0, "complaints": 0, "external_score": 95}, "A", "A"),
    ({"violations": 1, "repeats": 0, "late": 0, "complaints": 0, "external_score": None}, "B", "B1"),
    ({"violations": 0, "repeats": 0, "late": 0, "complaints": 1, "external_score": None}, "B", "B2"),
    ({"violations": 0, "repeats": 0, "late": 0, "complaints": 0, "external_score": 89.9}, "B", "B3"),
    ({"violations": 2, "repeats": 1, "late": 0, "complaints": 0, "external_score": None}, "C", "C1"),
    ({"violations": 1, "repeats": 0, "late": 1, "complaints": 0, "external_score": None}, "C", "C2"),
    ({"violations": 0, "repeats": 0, "late": 0, "complaints": 2, "external_score": None}, "C", "C3"),
    ({"violations": 0, "repeats": 0, "late": 0, "complaints": 0, "external_score": 74}, "C", "C4"),
    ({"violations": 3, "repeats": 2, "late": 0, "complaints": 0, "external_score": 99}, "D", "D1"),
    ({"violations": 0, "repeats": 0, "late": 0, "complaints": 0, "external_score": 59}, "D", "D2"),
])
def test_grade_rules(record: dict, grade: str, rule: str) -> None:
    found = grade_for(record)
    assert (found.grade, found.id) == (grade, rule)


def terms(**kw):  # noqa: ANN003, ANN201
    args = {"grade": "B", "visit_day": date(2026, 3, 9), "today": date(2026, 2, 24),
            "basis": "complaint", "exception": None, "visits_this_year": 0,
            "grade_visits_this_year": 0}
    return check_visit(**{**args, **kw})


def test_a_visit_inside_the_rules_needs_no_exception() -> None:
    t = terms()
    assert t.needs_exception == () and t.approve_by is None
    assert t.earliest_day == date(2026, 3, 2)


def test_the_cap_needs_an_exception_and_an_approval_within_three_working_days() -> None:
    with pytest.raises(VisitRefused, match="cap of 1 site visit"):
        terms(visits_this_year=1)
    t = terms(visits_this_year=1, exception="complaint", today=date(2026, 2, 12),
              visit_day=date(2026, 3, 9))
    assert len(t.needs_exception) == 1 and "cap" in t.needs_exception[0]
    assert t.approve_by == date(2026, 2, 24)  # Fri 13, Sat 14 (worked), Tue 24


def test_the_quiet_period_needs_an_exception_and_a_routine_visit_cannot_have_one() -> None:
    # Grade C is quiet from the 21st: Monday 23 March is inside, Friday 20 March is not.
    assert terms(grade="C", visit_day=date(2026, 3, 20)).needs_exception == ()
    with pytest.raises(VisitRefused, match="quiet period"):
        terms(grade="C", visit_day=date(2026, 3, 23))
    assert "quiet" in terms(grade="C", visit_day=date(2026, 3, 23),
                            exception="safety").needs_exception[0]
    with pytest.raises(VisitRefused, match="routine visit"):
        terms(grade="C", visit_day=date(2026, 3, 23), basis="grade", exception="safety")


def test_notice_days_and_working_days() -> None:
    # Late February is in every grade's quiet period, so these visits rest on a complaint
    # (an exception); what is checked here is the notice and the working days.
    late_feb = {"grade": "C", "exception": "complaint"}
    with pytest.raises(VisitRefused, match="from 2026-02-26 on"):
        terms(**late_feb, today=date(2026, 2, 12), visit_day=date(2026, 2, 25))
    t = terms(**late_feb, today=date(2026, 2, 12), visit_day=date(2026, 2, 26))
    assert t.earliest_day == date(2026, 2, 26)
    assert [w.split(" is ")[1][:31] for w in t.needs_exception] == ["in grade C's quiet period (from"]
    # The adjusted working Saturday is a day a visit may be held; an ordinary Sunday is not.
    assert terms(**late_feb, today=date(2026, 2, 13), visit_day=date(2026, 2, 28)).earliest_day \
        == date(2026, 2, 27)  # Sat 14, Tue 24, Wed 25, Thu 26, Fri 27
    with pytest.raises(VisitRefused, match="not an official working day"):
        terms(today=date(2026, 2, 13), visit_day=date(2026, 3, 1))


def test_the_grade_calls_for_its_own_visits_only() -> None:
    # B calls for none: non-site inspection first, so a visit needs a finding or a complaint.
    with pytest.raises(VisitRefused, match="non-site inspection first"):
        terms(basis="grade")
    assert terms(grade="D", basis="grade", grade_visits_this_year=3).needs_exception == ()
    with pytest.raises(VisitRefused, match="calls for 4"):
        terms(grade="D", basis="grade", grade_visits_this_year=4)


def test_a_year_plan_against_the_old_practice() -> None:
    # Site 1 (B): four clean drone looks and one complaint; site 2 (D): one look that found
    # something. Old practice: 5 + 1 = 6 site visits. Under the rules: site 1 visits once (the
    # complaint); site 2 four grade visits (one a quarter) and one on the finding.
    sites = [SiteYear(1, "B", [Trigger(date(2026, m, 5), "look") for m in (3, 5, 7, 9)]
                      + [Trigger(date(2026, 6, 2), "complaint")]),
             SiteYear(2, "D", [Trigger(date(2026, 4, 7), "look", found=True)])]
    plan = plan_year(sites, 2026)
    assert plan_without_rules(sites) == 6
    assert sorted((v.site_id, v.basis) for v in plan.visits) == [
        (1, "complaint"), (2, "finding"), (2, "grade"), (2, "grade"), (2, "grade"), (2, "grade")]
    assert (plan.looks, plan.looks_clean) == (5, 4)
    # Site 2's first grade visit: notice on Thu 1 Jan (a holiday); 2 and 3 Jan are off, Sunday
    # 4 Jan is worked (1), then 5, 6, 7, 8 Jan (2–5).
    assert min(v.day for v in plan.visits if v.site_id == 2) == date(2026, 1, 8)
