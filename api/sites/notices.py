"""A visit's notice (检查通知) as the site receives it, and the site's standing drone look.

The notice shows what the rules require it to say — the items, the day and time, the
inspectors — with the responsible department and the basis in words; never the planner's
username, the event's coordinates or the complaint's text (a complainant may be named in it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from api.core.errors import Conflict
from api.core.models import PatrolRequest, Site, SiteAudit, SiteVisit
from api.patrols.requests import file_request, local_day
from api.sites import calendar
from api.sites.registry import area_of, geojson_of

BASIS_WORDS = {
    "finding": ("非现场检查（无人机巡查）发现问题，依法现场核查",
                "a non-site (drone) inspection found a problem to verify on site"),
    "complaint": ("接到投诉举报，依法现场核查", "a complaint was received"),
    "grade": ("按企业分级分类监管要求开展检查", "the site's grade calls for this inspection"),
}
KIND_WORDS = {"construction": "建筑工地", "fuel_depot": "油库 / 加油站", "factory": "工厂",
              "market": "市场", "other": "其他"}


def public_view(visit: SiteVisit, site: Site, *, tz: str) -> dict:
    """The notice's fields (the schema `NoticePublic`)."""
    noticed_on = local_day(visit.noticed_at, tz)
    basis = BASIS_WORDS[visit.basis]
    return {
        "site_name": site.name, "site_kind": KIND_WORDS.get(site.kind, site.kind),
        "department": site.department, "contact": site.contact, "visit_day": visit.visit_day,
        "start_time": visit.start_time, "items": visit.items, "inspectors": visit.inspectors,
        "basis_zh": basis[0], "basis_en": basis[1], "noticed_on": noticed_on,
        "working_days_ahead": calendar.working_days_between(noticed_on, visit.visit_day)}


def file_site_patrol(session: Session, site: Site, *, window_start: str, window_end: str,
                     weekdays: list[str], per_day: int, zone_set: Any, tz: str, actor: str,
                     now: datetime) -> PatrolRequest:
    """The site's drone look as a patrol request of its department over its area (merged into
    flights like any other); Conflict when the site has an active one. The caller commits."""
    if site.patrol_request_id is not None:
        current = session.get(PatrolRequest, site.patrol_request_id)
        if current is not None and current.status == "active":
            raise Conflict(f"site {site.id} already has patrol request {current.id}; withdraw "
                           "it first (DELETE /api/v1/patrol-requests/{id})")
    row = file_request(session, department=site.department, title=f"非现场检查 {site.name}",
                       area=geojson_of(area_of(site)), looks_for=[site.kind],
                       window_start=window_start,
                       window_end=window_end, weekdays=weekdays, per_day=per_day, valid_from=None,
                       valid_to=None, zone_set=zone_set, tz=tz, actor=actor, now=now)
    site.patrol_request_id = row.id
    session.add(site)
    session.add(SiteAudit(site_id=site.id, at=now, actor=actor, action="drone look filed",
                          reason=f"patrol request {row.id}, {window_start}-{window_end} "
                                 f"{','.join(weekdays)}"))
    return row


def notice_url(base_url: str, code: str) -> str:
    """The printable notice of the visit with notice `code`, under `base_url`."""
    return f"{str(base_url).rstrip('/')}/n/{code}"
