"""A generated week of department patrol requests over the sample town (综合飞一次 test data).

Four departments file standing requests over the town's zones, each area a random part of a
zone (so areas of different departments overlap partly, as real ones do), with windows and
cadences typical of the department:

==============  ==========================================  ======================  ==========
department      areas (sample town zones)                   windows (local)         passes/day
==============  ==========================================  ======================  ==========
城管 (city)      residential blocks, commercial street,      07:00-10:00,            1-2
                no-vending road                             17:00-21:00
市场监管         market, commercial street, no-vending road   09:00-12:00,            1
(market)                                                    14:00-17:00
应急管理         industrial park (quiet 12:00-13:30 and       10:00-16:00             1-2
(emergency)     at night), forest                           08:00-12:00
生态环境         forest, industrial park                      08:00-12:00,            1
(ecology)                                                   13:00-17:00
==============  ==========================================  ======================  ==========

The requests are plain JSON-able dicts (``dispatch.PatrolRequest.from_mapping`` reads them;
simulators do not import dispatch). Seeded: the same seed gives the same week.

    python -m simulators.patrol_week --seed 7 > week.json
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta

import numpy as np
import shapely
from shapely.geometry import box, mapping

from geofence import Town, sample_town
from geofence.routing import to_local_geometry

__all__ = ["DEPARTMENTS", "FIRST_DAY", "week_of_requests"]

FIRST_DAY = date(2026, 11, 30)  # a Monday
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# department -> (zone ids, looks_for, windows (start, end), passes per day choices)
DEPARTMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...],
                             tuple[int, ...]]] = {
    "城管": (("res-beiyuan", "res-xiyuan", "res-nanyuan", "res-qiaotou", "res-dongyuan",
             "com-gushan", "nv-renmin"),
            ("street_stall", "占道经营"), (("07:00", "10:00"), ("17:00", "21:00")), (1, 2)),
    "市场监管": (("mkt-chengdong", "com-gushan", "nv-renmin"),
             ("mobile_fuel", "无证摊贩"), (("09:00", "12:00"), ("14:00", "17:00")), (1,)),
    "应急管理": (("ind-park", "forest-wofo"),
             ("fire", "消防通道占用"), (("10:00", "16:00"), ("08:00", "12:00")), (1, 2)),
    "生态环境": (("forest-wofo", "ind-park"),
             ("smoke", "illegal_dumping"), (("08:00", "12:00"), ("13:00", "17:00")), (1,)),
}


def week_of_requests(seed: int = 7, count: int = 24, *, first_day: date = FIRST_DAY,
                     town: Town | None = None) -> list[dict]:
    """``count`` requests valid for the week starting ``first_day``, as JSON-able dicts."""
    town = town or sample_town()
    rng = np.random.default_rng(seed)
    departments = list(DEPARTMENTS)
    out = []
    for k in range(count):
        department = departments[k % len(departments)]
        zone_ids, looks_for, windows, passes = DEPARTMENTS[department]
        zone = town.zones.get(str(rng.choice(zone_ids)))
        area = _part_of(to_local_geometry(zone.geometry, town.frame), rng)
        lat, lon = town.frame.to_wgs84(*np.asarray(area.exterior.coords).T)
        start, end = windows[int(rng.integers(len(windows)))]
        days = list(_DAYS) if rng.random() < 0.5 else list(_DAYS[:5])
        out.append({
            "id": f"r{k + 1:02d}",
            "department": department,
            "area": mapping(shapely.Polygon(np.column_stack([lon, lat]))),
            "looks_for": list(looks_for),
            "window": {"days": days, "start": start, "end": end, "tz": "Asia/Shanghai"},
            "passes_per_day": int(rng.choice(passes)),
            "valid_from": first_day.isoformat(),
            "valid_until": (first_day + timedelta(days=6)).isoformat(),
        })
    return out


def _part_of(zone_m: shapely.Polygon, rng: np.random.Generator) -> shapely.Polygon:
    """A random axis-aligned part of the zone: 50-100 % of its width and height (less for big ones)."""
    min_e, min_n, max_e, max_n = zone_m.bounds
    width, height = max_e - min_e, max_n - min_n
    scale = 0.5 if width * height > 1e6 else 1.0  # the forest: a part, not all 1.8 km²
    w = width * rng.uniform(0.5, 1.0) * scale
    h = height * rng.uniform(0.5, 1.0) * (1.0 if scale == 1.0 else 0.6)
    e0 = min_e + rng.uniform(0.0, width - w)
    n0 = min_n + rng.uniform(0.0, height - h)
    part = box(e0, n0, e0 + w, n0 + h).intersection(zone_m)
    return part if isinstance(part, shapely.Polygon) else zone_m


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--count", type=int, default=24)
    args = parser.parse_args(argv)
    json.dump(week_of_requests(args.seed, args.count), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
