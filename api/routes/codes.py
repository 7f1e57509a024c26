"""Routes for task codes (亮码): a task's QR image for staff, and for the public the task's
read-only page, its JSON, and feedback. What the public may see is decided in `api.enforcement.taskcodes`.

Every route is a plain `def`: FastAPI runs it in its threadpool, so the view and feedback writes
never run on the event loop.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.core.errors import NotFound
from api.core.settings import Settings
from api.enforcement import taskcodes
from api.lifecycle.tasks import visible_task
from api.routes.deps import Allowed, ClockDep, SessionDep, SettingsDep, team_scope
from api.routes.params import Id

router = APIRouter(tags=["task codes"])

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "web" / "templates"),
    autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
)
# The page holds the code (a secret of the person inspected): no caching, no referrer to the
# links it has, no search engines; scripts and styles only from this service.
PUBLIC_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}
PAGE_HEADERS = {
    **PUBLIC_HEADERS,
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
}


def base_url(settings: Settings, request: Request) -> str:
    return settings.public_base_url or str(request.base_url)


def _client(request: Request, settings: Settings) -> str:
    host = request.client.host if request.client else None
    return taskcodes.client_tag(settings.resolved_secret_key(), host)


@router.get("/api/v1/tasks/{task_id}/qr.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}},
            summary="The task's QR code as SVG: it opens the task's public page")
def task_qr_svg(task_id: Id, request: Request, user: Allowed, session: SessionDep,
                settings: SettingsDep) -> Response:
    task = visible_task(session, task_id, team_id=team_scope(user))
    url = taskcodes.public_url(base_url(settings, request), task.code)
    return Response(taskcodes.qr_svg(url), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, no-cache", "X-Public-URL": url})


@router.get("/api/v1/tasks/{task_id}/qr.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}},
            summary="The task's QR code as PNG: it opens the task's public page")
def task_qr_png(task_id: Id, request: Request, user: Allowed, session: SessionDep,
                settings: SettingsDep,
                scale: int = Query(6, ge=1, le=20, description="pixels per module")) -> Response:
    task = visible_task(session, task_id, team_id=team_scope(user))
    url = taskcodes.public_url(base_url(settings, request), task.code)
    return Response(taskcodes.qr_png(url, scale=scale), media_type="image/png",
                    headers={"Cache-Control": "private, no-cache", "X-Public-URL": url})


@router.get("/api/v1/public/tasks/{code}", response_model=taskcodes.PublicTask,
            summary="A task as the public may see it (no login); the view is audited")
def public_task(code: str, request: Request, response: Response, session: SessionDep,
                settings: SettingsDep, clock: ClockDep) -> taskcodes.PublicTask:
    found = taskcodes.find(session, code)
    view = taskcodes.public_view(session, found)
    taskcodes.record_view(session, found, client=_client(request, settings), now=clock.now())
    response.headers.update(PUBLIC_HEADERS)
    return view


@router.post("/api/v1/public/tasks/{code}/feedback", response_model=taskcodes.FeedbackPublic,
             status_code=status.HTTP_201_CREATED,
             summary="Feedback from the person inspected: a rating 1–5 and a comment (no login)")
def public_feedback(code: str, body: taskcodes.FeedbackIn, response: Response,
                    session: SessionDep, clock: ClockDep) -> taskcodes.FeedbackPublic:
    found = taskcodes.find(session, code)
    feedback = taskcodes.add_feedback(session, found, body, now=clock.now())
    response.headers.update(PUBLIC_HEADERS)
    return taskcodes.FeedbackPublic.model_validate(feedback)


@router.get("/c/{code:path}", response_class=HTMLResponse, include_in_schema=False)
def public_page(code: str, request: Request, session: SessionDep, settings: SettingsDep,
                clock: ClockDep) -> HTMLResponse:
    template = TEMPLATES.get_template("code.html")
    try:
        found = taskcodes.find(session, code)
    except NotFound:
        return HTMLResponse(template.render(task=None), status_code=404, headers=PAGE_HEADERS)
    view = taskcodes.public_view(session, found)
    taskcodes.record_view(session, found, client=_client(request, settings), now=clock.now())
    return HTMLResponse(template.render(task=view, comment_max=taskcodes.COMMENT_MAX_CHARS),
                        headers=PAGE_HEADERS)
