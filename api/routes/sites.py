"""Routes for regulated sites: the registry and its imports, yearly grades and overrides, site
visits under the rules (plan, approve an exception, notice, hold), the oversight list, the
evaluator's figures, and the public printable notice behind its code (like a task code's page).

Admins manage sites, grades and approvals; operators plan visits and send notices; evaluators
read. Every route is a plain `def`, so FastAPI runs it and its database work in its threadpool.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from api.core.db import writing
from api.core.errors import NotFound
from api.enforcement import taskcodes
from api.routes.codes import PAGE_HEADERS, PUBLIC_HEADERS, TEMPLATES, base_url
from api.routes.deps import Allowed, ClockDep, SessionDep, SettingsDep, ZonesDep
from api.routes.params import Id
from api.sites import figures, grading, notices, registry, rules, scores, visits
from api.sites.schemas import (
    ApproveIn,
    GradePublic,
    GradesComputed,
    ImportResult,
    NoticePublic,
    OverrideIn,
    OversightRow,
    ScoreIn,
    SiteDetail,
    SiteFigures,
    SiteIn,
    SitePatrolIn,
    SitePublic,
    SiteRulesPublic,
    SitesImport,
    VisitIn,
    VisitPublic,
)

router = APIRouter(tags=["sites"])

YearQuery = Annotated[int, Query(ge=2000, le=2099, description="A calendar year (local).")]


def _site_json(site, grade=None) -> dict:  # noqa: ANN001
    return {**SitePublic.model_validate(site).model_dump(),
            "grade": grade.grade if grade else None,
            "grade_rule": f"{grade.rule_id}: {grade.rule_text}" if grade else None}


def _grade_json(row) -> dict:  # noqa: ANN001
    return {**{k: getattr(row, k) for k in ("site_id", "year", "grade", "source", "rule_id",
                                            "rule_text", "reason", "actor", "at")},
            "record": json.loads(row.record_json)}


def _visit_json(visit, base_url: str) -> dict:  # noqa: ANN001
    url = notices.notice_url(base_url, visit.notice_code) if visit.notice_code else None
    return {**VisitPublic.model_validate(visit).model_dump(), "notice_url": url}


# ---------------------------------------------------------------- the registry


@router.post("/api/v1/sites", response_model=SitePublic, status_code=status.HTTP_201_CREATED,
             summary="Register a site (or update the one with this ref)")
def add_site(body: SiteIn, user: Allowed, session: SessionDep, clock: ClockDep,
             zones: ZonesDep) -> dict:
    with writing(session):
        stored, _ = registry.upsert(session, [registry.SiteFields(**body.model_dump())],
                                    zone_set=zones.zone_set, actor=user.username, now=clock.now())
        session.commit()
    return _site_json(stored[0])


@router.post("/api/v1/sites/import", response_model=ImportResult,
             summary="Import sites from a GeoJSON FeatureCollection or CSV (all or nothing)")
def import_sites(body: SitesImport, user: Allowed, session: SessionDep, clock: ClockDep,
                 zones: ZonesDep) -> dict:
    fields = (registry.fields_from_geojson(body.geojson) if body.geojson is not None
              else registry.fields_from_csv(body.csv))
    with writing(session):
        stored, new = registry.upsert(session, fields, zone_set=zones.zone_set,
                                      actor=user.username, now=clock.now())
        session.commit()
    return {"imported": len(stored), "new": new, "sites": [_site_json(s) for s in stored]}


@router.get("/api/v1/sites", response_model=list[SitePublic],
            summary="The sites, each with its grade in force for the year and the rule behind it")
def list_sites(_user: Allowed, session: SessionDep, year: YearQuery) -> list[dict]:
    grades = grading.grades_in_force(session, year)
    return [_site_json(s, grades.get(s.id)) for s in registry.all_sites(session)]


@router.get("/api/v1/sites/{site_id}", response_model=SiteDetail,
            summary="A site: its grade history, visits and audit trail")
def get_site(site_id: Id, _user: Allowed, session: SessionDep, request: Request,
             settings: SettingsDep, year: YearQuery) -> dict:
    site = registry.get_site(session, site_id)
    base = base_url(settings, request)
    return {**_site_json(site, grading.in_force(session, site.id, year)),
            "grades": [_grade_json(g) for g in grading.history(session, site.id)],
            "visits": [_visit_json(v, base) for v in visits.visits_in(session, year,
                                                                       site_id=site.id)],
            "audit": [a.model_dump() for a in registry.audit_of(session, site.id)]}


@router.post("/api/v1/sites/{site_id}/patrol-request", response_model=SitePublic,
             summary="File the site's drone look (non-site inspection) as a patrol request")
def site_patrol(site_id: Id, body: SitePatrolIn, user: Allowed, session: SessionDep,
                clock: ClockDep, zones: ZonesDep, settings: SettingsDep) -> dict:
    with writing(session):
        site = registry.get_site(session, site_id)
        notices.file_site_patrol(session, site, window_start=body.window.start,
                                 window_end=body.window.end, weekdays=body.weekdays,
                                 per_day=body.per_day, zone_set=zones.zone_set,
                                 tz=settings.local_tz, actor=user.username, now=clock.now())
        session.commit()
    return _site_json(site)


# ---------------------------------------------------------------- grades


@router.post("/api/v1/site-grades", response_model=GradesComputed,
             summary="Grade every site for the year from its record of the year before")
def compute_grades(user: Allowed, session: SessionDep, clock: ClockDep, settings: SettingsDep,
                   year: YearQuery) -> dict:
    with writing(session):
        graded, skipped = grading.compute(session, year, tz=settings.local_tz,
                                          actor=user.username, now=clock.now())
        session.commit()
    return {"year": year, "graded": [_grade_json(g) for g in graded],
            "skipped_overridden": skipped}


@router.post("/api/v1/sites/{site_id}/grades/{year}/override", response_model=GradePublic,
             summary="Set a site's grade for a year by hand, with the reason (audited)")
def override_grade(site_id: Id, year: Annotated[int, Path(ge=2000, le=2099)], body: OverrideIn,
                   user: Allowed, session: SessionDep, clock: ClockDep) -> dict:
    with writing(session):
        site = registry.get_site(session, site_id)
        row = grading.override(session, site, year, body.grade, body.reason,
                               actor=user.username, now=clock.now())
        session.commit()
    return _grade_json(row)


@router.get("/api/v1/site-rules", response_model=SiteRulesPublic,
            summary="The grade rule table and what each grade allows")
def site_rules(_user: Allowed) -> dict:
    return {"rules": [asdict(r) for r in rules.GRADE_RULES], "grade_a": asdict(rules.GRADE_A),
            "policies": {g: asdict(p) for g, p in rules.POLICIES.items()},
            "exceptions": rules.EXCEPTIONS, "bases": rules.BASES,
            "notice_working_days": rules.NOTICE_WORKING_DAYS,
            "approve_within_working_days": rules.APPROVE_WITHIN_WORKING_DAYS}


@router.post("/api/v1/site-scores", summary="Import external scores and complaints by site ref "
             "and year (all or nothing)")
def import_scores(body: list[ScoreIn], user: Allowed, session: SessionDep,
                  clock: ClockDep) -> dict[str, int]:
    with writing(session):
        n = scores.import_scores(session, body, actor=user.username, now=clock.now())
        session.commit()
    return {"imported": n}


# ---------------------------------------------------------------- visits


@router.post("/api/v1/site-visits", response_model=VisitPublic,
             status_code=status.HTTP_201_CREATED,
             summary="Plan a site visit: basis, cap, quiet period and notice days are checked")
def plan_visit(body: VisitIn, user: Allowed, session: SessionDep, clock: ClockDep,
               settings: SettingsDep, request: Request) -> dict:
    with writing(session):
        visit = visits.plan(session, body.site_id, visit_day=body.visit_day,
                            start_time=body.start_time, basis=body.basis, event_id=body.event_id,
                            note=body.note, exception=body.exception, items=body.items,
                            inspectors=body.inspectors, tz=settings.local_tz,
                            actor=user.username, now=clock.now())
        session.commit()
    return _visit_json(visit, base_url(settings, request))


@router.get("/api/v1/site-visits", response_model=list[VisitPublic],
            summary="Site visits planned for a year")
def list_visits(_user: Allowed, session: SessionDep, settings: SettingsDep, request: Request,
                year: YearQuery,
                site_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None) -> list[dict]:
    base = base_url(settings, request)
    return [_visit_json(v, base) for v in visits.visits_in(session, year, site_id=site_id)]


@router.post("/api/v1/site-visits/{visit_id}/approve", response_model=VisitPublic,
             summary="Approve a visit's exception (late approvals are recorded as late)")
def approve_visit(visit_id: Id, body: ApproveIn, user: Allowed, session: SessionDep,
                  clock: ClockDep, settings: SettingsDep, request: Request) -> dict:
    with writing(session):
        visit = visits.approve(session, visit_id, note=body.note, actor=user.username,
                               tz=settings.local_tz, now=clock.now())
        session.commit()
    return _visit_json(visit, base_url(settings, request))


@router.post("/api/v1/site-visits/{visit_id}/notice", response_model=VisitPublic,
             summary="Send the visit's notice today (at least 5 working days ahead)")
def send_notice(visit_id: Id, user: Allowed, session: SessionDep, clock: ClockDep,
                settings: SettingsDep, request: Request) -> dict:
    with writing(session):
        visit = visits.issue_notice(session, visit_id, actor=user.username,
                                    tz=settings.local_tz, now=clock.now())
        session.commit()
    return _visit_json(visit, base_url(settings, request))


@router.post("/api/v1/site-visits/{visit_id}/done", response_model=VisitPublic,
             summary="Record the visit as held (refused without its notice)")
def hold_visit(visit_id: Id, user: Allowed, session: SessionDep, clock: ClockDep,
               settings: SettingsDep, request: Request) -> dict:
    with writing(session):
        visit = visits.hold(session, visit_id, actor=user.username, tz=settings.local_tz,
                            now=clock.now())
        session.commit()
    return _visit_json(visit, base_url(settings, request))


@router.get("/api/v1/site-exceptions", response_model=list[OversightRow],
            summary="Oversight: every visit on an exception in the year, and whether it was "
                    "approved within 3 working days")
def oversight(_user: Allowed, session: SessionDep, clock: ClockDep, settings: SettingsDep,
              request: Request, year: YearQuery) -> list[dict]:
    base = base_url(settings, request)
    found = visits.visits_in(session, year, exceptions_only=True)
    sites = registry.sites_by_id(session, (v.site_id for v in found))  # one query, not one a row
    now = clock.now()
    return [{**_visit_json(v, base), "site_name": sites[v.site_id].name,
             **visits.oversight_row(v, tz=settings.local_tz, now=now)} for v in found]


@router.get("/api/v1/site-figures", response_model=SiteFigures,
            summary="Visits per grade against caps, share non-site, visits avoided, C/D movement")
def site_figures(_user: Allowed, session: SessionDep, settings: SettingsDep,
                 year: YearQuery) -> dict:
    return figures.figures(session, year, tz=settings.local_tz)


# ---------------------------------------------------------------- the public notice


@router.get("/api/v1/public/site-notices/{code}", response_model=NoticePublic,
            summary="A visit's notice as the site receives it (no login; the code is the key)")
def public_notice(code: str, response: Response, session: SessionDep,
                  settings: SettingsDep) -> dict:
    visit, site = visits.find_by_code(session, code)
    response.headers.update(PUBLIC_HEADERS)
    return notices.public_view(visit, site, tz=settings.local_tz)


@router.get("/n/{code:path}", response_class=HTMLResponse, include_in_schema=False)
def notice_page(code: str, request: Request, session: SessionDep,
                settings: SettingsDep) -> HTMLResponse:
    template = TEMPLATES.get_template("notice.html")
    try:
        visit, site = visits.find_by_code(session, code)
    except NotFound:
        return HTMLResponse(template.render(notice=None), status_code=404, headers=PAGE_HEADERS)
    url = notices.notice_url(base_url(settings, request), code)
    qr = base64.b64encode(taskcodes.qr_svg(url, title="检查通知 notice")).decode()
    # A model, not the dict: in a template `notice.items` would be the dict's own method.
    notice = NoticePublic.model_validate(notices.public_view(visit, site, tz=settings.local_tz))
    return HTMLResponse(template.render(notice=notice, url=url, qr=qr), headers=PAGE_HEADERS)


