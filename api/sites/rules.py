"""The county's rules as data: the grade rule table, what each grade allows, and the exceptions.

A site's grade for year Y is taken from its record of year Y-1 (`grading.record_of`): the rules
below are tried in order and the first that holds gives the grade, so a site is graded by its
worst finding. Each rule names one figure of the record, a comparison and a threshold; a figure
that is unknown (no external score imported) never satisfies a rule.

What a grade allows (`POLICIES`): a yearly cap on site visits (None: no cap), the day of the
month its quiet period starts (it runs to the month's end; 1 = the whole month), and how many
visits the grade itself calls for in a year (focused supervision, coaching), with no finding or
complaint needed.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Literal

Grade = Literal["A", "B", "C", "D"]
GRADES: tuple[Grade, ...] = ("A", "B", "C", "D")
# A site that has never been graded is planned as this grade (the middle of the scale: neither
# the exemption of A/B nor the focused supervision of D).
UNGRADED_AS: Grade = "C"

# The record's figures a rule may name (grading.Record fields).
Figure = Literal["violations", "repeats", "late", "complaints", "external_score"]
_OPS = {"<": operator.lt, ">=": operator.ge}


@dataclass(frozen=True)
class GradeRule:
    id: str
    grade: Grade
    figure: Figure
    op: Literal["<", ">="]
    threshold: float
    text: str

    def holds(self, record: dict[str, float | None]) -> bool:
        value = record.get(self.figure)
        return value is not None and _OPS[self.op](value, self.threshold)


# First match wins; A is what is left.
GRADE_RULES: tuple[GradeRule, ...] = (
    GradeRule("D1", "D", "repeats", ">=", 2,
              "repeated violations: 2 or more repeat offences in the year"),
    GradeRule("D2", "D", "external_score", "<", 60, "external score below 60"),
    GradeRule("C1", "C", "repeats", ">=", 1, "a repeat offence in the year"),
    GradeRule("C2", "C", "late", ">=", 1, "a violation not resolved within 30 days"),
    GradeRule("C3", "C", "complaints", ">=", 2, "2 or more complaints in the year"),
    GradeRule("C4", "C", "external_score", "<", 75, "external score below 75"),
    GradeRule("B1", "B", "violations", ">=", 1, "a violation in the year"),
    GradeRule("B2", "B", "complaints", ">=", 1, "a complaint in the year"),
    GradeRule("B3", "B", "external_score", "<", 90, "external score below 90"),
)
GRADE_A = GradeRule("A", "A", "violations", "<", 1,
                    "no violation and no complaint in the year, external score 90 or more "
                    "(or none)")
# A violation counts as resolved on time when resolved within this many days of its detection.
RESOLVE_WITHIN_DAYS = 30


def grade_for(record: dict[str, float | None]) -> GradeRule:
    """The rule that grades `record` (the first of GRADE_RULES that holds, else A's)."""
    return next((rule for rule in GRADE_RULES if rule.holds(record)), GRADE_A)


@dataclass(frozen=True)
class GradePolicy:
    cap_per_year: int | None  # site visits a year; None: no cap
    quiet_from_day: int  # the quiet period runs from this day of the month to its end
    grade_visits_per_year: int  # visits the grade itself calls for
    text: str


POLICIES: dict[str, GradePolicy] = {
    "A": GradePolicy(0, 1, 0, "exemption list: no site visit without an approved exception"),
    "B": GradePolicy(1, 11, 0, "at most 1 site visit a year; quiet from the 11th to month end"),
    "C": GradePolicy(2, 21, 1,
                     "at most 2 site visits a year; quiet from the 21st; 1 coaching visit"),
    "D": GradePolicy(None, 21, 4,
                     "focused supervision: no cap, a visit each quarter; quiet from the 21st"),
}

# Why a visit may go past a cap or into a quiet period (each needs an approver).
EXCEPTIONS = {
    "complaint": "a complaint came in",
    "safety": "a safety risk",
    "case": "handling a case (a violation found)",
    "dishonesty": "serious dishonesty",
}
# What a visit rests on (non-site inspection first: one of these, never routine).
BASES = {
    "finding": "a non-site look (drone or camera) found a violation",
    "complaint": "a complaint came in",
    "grade": "the site's grade calls for it",
}
NOTICE_WORKING_DAYS = 5  # a visit's notice goes out at least this many working days ahead
APPROVE_WITHIN_WORKING_DAYS = 3  # an exception is approved within this many working days
