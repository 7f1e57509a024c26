"""Regulated sites: a year's inspection plan for generated sites under the county's rules
(non-site inspection first, A–D caps, quiet periods, 5-working-day notices on China's official
calendar), timed, against planning without them in the same run.

Generated (seeded): sites graded A 15 %, B 40 %, C 35 %, D 10 %; each has the inspections the
old practice schedules for its grade (A 2, B 4, C 6, D 12 a year, on random days), and
complaints (Poisson, mean A 0.1, B 0.3, C 0.6, D 1.2). Under the rules every scheduled
inspection is a drone look first, which finds something with probability A 2 %, B 5 %,
C 10 %, D 20 %; only a finding, a complaint or the grade's own visits (C 1, D 4) become site
visits (`api.sites.planning.plan_year`). Without the rules every scheduled inspection is a site
visit and so is every complaint (`plan_without_rules`). The plan is checked as it is printed:
no visit with less than 5 working days' notice, none on a day off, none past a cap or in a
quiet period without an exception.

Run: python tests/bench/bench_sites.py [--sites 2000] [--seed 30] [--year 2026]
(one JSON line on stdout; never passes or fails on a figure)
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import Counter
from datetime import date, timedelta

import numpy as np

from api.sites import calendar
from api.sites.planning import SiteYear, Trigger, in_quiet_period, plan_without_rules, plan_year
from api.sites.rules import GRADES, POLICIES

SHARE = {"A": 0.15, "B": 0.40, "C": 0.35, "D": 0.10}
SCHEDULED = {"A": 2, "B": 4, "C": 6, "D": 12}
FINDS = {"A": 0.02, "B": 0.05, "C": 0.10, "D": 0.20}
COMPLAINTS = {"A": 0.1, "B": 0.3, "C": 0.6, "D": 1.2}
LIMIT_S = 5.0


def generate(n: int, seed: int, year: int) -> list[SiteYear]:
    rng = np.random.default_rng(seed)
    days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    grades = rng.choice(list(SHARE), size=n, p=list(SHARE.values()))
    sites = []
    for k, grade in enumerate(grades):
        looks = [Trigger(date(year, 1, 1) + timedelta(days=int(d)), "look",
                         bool(rng.random() < FINDS[grade]))
                 for d in rng.integers(0, days, SCHEDULED[grade])]
        complaints = [Trigger(date(year, 1, 1) + timedelta(days=int(d)), "complaint")
                      for d in rng.integers(0, days, rng.poisson(COMPLAINTS[grade]))]
        sites.append(SiteYear(k + 1, str(grade), looks + complaints))
    return sites


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=30)
    parser.add_argument("--year", type=int, default=2026)
    args = parser.parse_args(argv)

    sites = generate(args.sites, args.seed, args.year)
    calendar._is_workday.cache_clear()  # time the calendar look-ups too, from cold
    t0 = time.perf_counter()
    plan = plan_year(sites, args.year)
    plan_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    baseline = plan_without_rules(sites)
    baseline_s = time.perf_counter() - t0

    grade_of = {s.site_id: s.grade for s in sites}
    per_site = Counter(v.site_id for v in plan.visits)
    per_grade = {}
    for g in GRADES:
        cap = POLICIES[g].cap_per_year
        n_sites = sum(1 for s in sites if s.grade == g)
        visits = [v for v in plan.visits if grade_of[v.site_id] == g]
        per_grade[g] = {
            "sites": n_sites, "visits": len(visits),
            "cap_total": None if cap is None else cap * n_sites,
            "sites_at_cap": sum(1 for s, n in per_site.items()
                                if grade_of[s] == g and cap is not None and n >= cap),
            "exception_visits": sum(1 for v in visits if v.exception)}
    # The plan's own checks, recomputed from its visits.
    notice_days = [calendar.working_days_between(v.notice_day, v.day) for v in plan.visits]
    quiet_without = sum(1 for v in plan.visits if not v.exception
                        and in_quiet_period(POLICIES[grade_of[v.site_id]], v.day))
    seen: Counter = Counter()
    past_cap_without = 0
    for v in sorted(plan.visits, key=lambda v: (v.site_id, v.notice_day, v.day)):
        cap = POLICIES[grade_of[v.site_id]].cap_per_year
        past_cap_without += cap is not None and seen[v.site_id] >= cap and not v.exception
        seen[v.site_id] += 1
    print(json.dumps({
        "bench": "sites",
        "seed": args.seed,
        "year": args.year,
        "sites": len(sites),
        "plan_s": round(plan_s, 3),
        "within_limit": plan_s <= LIMIT_S,
        "limit_s": LIMIT_S,
        "site_visits": len(plan.visits),
        "baseline_site_visits": baseline,
        "baseline_s": round(baseline_s, 4),
        "visits_saved": baseline - len(plan.visits),
        "visits_saved_share": round((baseline - len(plan.visits)) / baseline, 3),
        "non_site_looks": plan.looks,
        "looks_clean": plan.looks_clean,
        "share_non_site": round(plan.looks / (plan.looks + len(plan.visits)), 3),
        "exception_visits": plan.exceptions,
        "not_planned": plan.refused,
        "per_grade": per_grade,
        "min_notice_working_days": min(notice_days),
        "visits_on_days_off": sum(1 for v in plan.visits if not calendar.is_working_day(v.day)),
        "quiet_visits_without_exception": quiet_without,
        "past_cap_without_exception": past_cap_without,
        "python": platform.python_version(),
    }, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
