"""Task codes (亮码): the public URL and QR image of a task, what its public page may show, and
the audit rows its views and feedback leave.

Every task carries an unguessable code (`secrets.token_urlsafe(16)`: 128 random bits written as
22 characters of A–Z a–z 0–9 - _, see `api.core.models.Task`). The person inspected scans the task's QR
code and lands on `{public_base_url}/c/{code}`: a read-only page, no login, that says who acted
(department and team), what was checked and on what basis, and the result, with a feedback form.

What the public page shows, and what it never shows (decided here, tested in tests/api/test_codes.py):

- shown: the department and the team's name (or the drone's, for a drone task); the event type in
  words; the zone's name and kind (the place as a street or block, never coordinates); the legal
  basis for the event type and the zone's rule; the task's times; the result in words and when.
- never shown: usernames of operators or team members, coordinates, the team's resolution note
  and evidence photos (free text and pictures may name or show people), other events, ids.

Views are audited without letting a scraper turn reads into writes: one audit row per code per
client per `VIEW_WINDOW_S` of service time, and at most `VIEW_ROWS_PER_WINDOW` view rows per code
in any window, whoever asks (a code is only known to whoever holds the QR, so this bounds the
writes any client can cause to a few a minute per code it knows). A client is told apart by a
keyed hash of its address (8 hex digits): the audit trail never holds an IP address. Several
service processes each apply the rule against the same audit rows, so the bound holds across
them up to a race of one row per process. Feedback is capped at `FEEDBACK_PER_HOUR` messages per
code per hour (429 beyond, nothing stored).

All of it runs in the caller's thread: the routes are plain `def`, so FastAPI runs them, and
these reads and writes, in its threadpool, off the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import segno
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, func, select

from api.core.db import writing
from api.core.errors import NotFound, TooManyRequests
from api.core.models import AuditEntry, Drone, Event, Feedback, GroundTeam, Task

# The alphabet and length of `secrets.token_urlsafe(16)`: 22 × 6 bits = 132 bits ≥ the 128 drawn.
CODE_RE = re.compile(r"[A-Za-z0-9_-]{22}")
CODE_BITS = 128
PUBLIC_ACTOR = "public"
VIEW_REASON = "task code viewed"
VIEW_WINDOW_S = 60.0
VIEW_ROWS_PER_WINDOW = 10
FEEDBACK_PER_HOUR = 5
COMMENT_MAX_CHARS = 500
COMMENT_IN_AUDIT_CHARS = 100
# The page is for people in the city: times in its local time (the sample town is in China).
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
# A drone task has no team; the department shown is then the event's team's, else this one
# (the control room's: the ground teams' own default, see api.core.models.GroundTeam).
DEFAULT_DEPARTMENT = "城管执法"

INVALID_CODE = "this task code is not valid; check that the QR code or link is complete"

# What was checked, and on what basis, per event type (Chinese, English).
EVENT_WORDS = {
    "street_stall": ("占道经营", "street stall occupying the road"),
    "mobile_fuel_sale": ("非法流动供油", "illegal mobile fuel sale"),
}
BASES = {
    "street_stall": (
        ("《城市市容和环境卫生管理条例》（国务院令第101号）及本市市容管理规定："
         "未经批准不得占用城市道路、公共场地摆摊经营。"),
        ("Regulations on the Administration of City Appearance and Environmental Sanitation "
         "(State Council Decree No. 101) and the city's rules: no trading on roads or public "
         "places without permission."),
    ),
    "mobile_fuel_sale": (
        ("《危险化学品安全管理条例》（国务院令第591号）：汽油、柴油等危险化学品须持证经营，"
         "禁止流动销售。"),
        ("Regulations on the Safe Management of Hazardous Chemicals (State Council Decree "
         "No. 591): petrol and diesel may only be sold under licence, never from moving vehicles."),
    ),
}
# Why the place matters, per zone kind (Chinese, English); kinds without a rule show none.
ZONE_RULES = {
    "no_vending": ("划定的禁止摆摊路段", "a designated no-vending section"),
    "residential": ("居住区", "residential area"),
    "forest": ("林区（森林防火区域）", "forest (fire-risk area)"),
    "commercial": ("商业街区", "commercial street"),
    "industrial": ("工业园区", "industrial park"),
}
DISPOSITION_WORDS = {
    "persuaded": ("劝导离开", "persuaded to leave"),
    "removed": ("责令清除", "removed"),
    "penalised": ("依法处罚", "penalty imposed"),
    "referred": ("移交有关部门", "referred to the competent department"),
    "not_found": ("到场未发现", "nothing found on arrival"),
}
STATE_WORDS = {
    "assigned": ("已派员，处理中", "assigned, in progress"),
    "on_scene": ("已到场，处理中", "on scene, in progress"),
    "resolved": ("已处置", "resolved"),
    "evaluated": ("已处置", "resolved"),
}
IN_PROGRESS = ("处理中", "in progress")


# ---------------------------------------------------------------- URLs and QR images


def is_well_formed(code: str) -> bool:
    """Whether `code` has the form of a task code (so a malformed one costs no query)."""
    return CODE_RE.fullmatch(code) is not None


def public_url(base_url: str, code: str) -> str:
    """The public page of the task with `code`, under `base_url` (`https://host[/prefix]`)."""
    return f"{str(base_url).rstrip('/')}/c/{code}"


def qr_svg(url: str, *, title: str = "任务码 task code") -> bytes:
    """An SVG QR image of `url` (4 px modules, the standard 4-module quiet zone, black on white)."""
    buf = io.BytesIO()
    segno.make(url, micro=False).save(buf, kind="svg", scale=4, border=4, dark="#000",
                                      light="#fff", xmldecl=False, title=title)
    return buf.getvalue()


def qr_png(url: str, *, scale: int = 6) -> bytes:
    """A PNG QR image of `url` with `scale` pixels per module."""
    buf = io.BytesIO()
    segno.make(url, micro=False).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


# ---------------------------------------------------------------- what the page shows


class PublicTask(BaseModel):
    """A task as the public may see it: no usernames, no coordinates, no notes, no ids."""

    code: str
    department: str
    team: str | None = Field(description="The ground team's name; None for a drone task")
    drone: str | None = Field(description="The drone's name, for a drone task")
    event_type: str
    checked_zh: str
    checked_en: str
    place_zh: str
    place_en: str
    zone_rule_zh: str | None
    zone_rule_en: str | None
    basis_zh: str
    basis_en: str
    assigned_at: datetime
    on_scene_at: datetime | None
    result_zh: str
    result_en: str
    disposition: str | None
    resolved_at: datetime | None

    def local(self, at: datetime | None) -> str:
        """`at` as the city's local time, to the minute (Beijing time)."""
        return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if at else "–"


@dataclass
class Found:
    task: Task
    event: Event


def find(session: Session, code: str) -> Found:
    """The task with `code` and its event; NotFound (the same for any code) otherwise."""
    if not is_well_formed(code):
        raise NotFound(INVALID_CODE)
    row = session.exec(select(Task, Event).join(Event, Event.id == Task.event_id)
                       .where(Task.code == code)).first()
    if row is None:
        raise NotFound(INVALID_CODE)
    return Found(*row)


def public_view(session: Session, found: Found) -> PublicTask:
    """What the public page of `found` shows."""
    task, event = found.task, found.event
    team = session.get(GroundTeam, task.team_id) if task.team_id else None
    drone = session.get(Drone, task.drone_id) if task.drone_id else None
    department = team.department if team else _event_department(session, event.id)
    checked = EVENT_WORDS.get(event.type, (event.type, event.type))
    basis = BASES.get(event.type, ("依据本市城市管理相关规定", "the city's management rules"))
    rule = ZONE_RULES.get(event.zone_kind or "")
    place = (event.zone_name, event.zone_name) if event.zone_name else ("城区道路", "a city street")
    if event.disposition:
        result = DISPOSITION_WORDS.get(event.disposition, (event.disposition, event.disposition))
    else:
        result = STATE_WORDS.get(event.state, IN_PROGRESS)
    return PublicTask(
        code=task.code, department=department, team=team.name if team else None,
        drone=drone.name if drone else None, event_type=event.type,
        checked_zh=checked[0], checked_en=checked[1], place_zh=place[0], place_en=place[1],
        zone_rule_zh=rule[0] if rule else None, zone_rule_en=rule[1] if rule else None,
        basis_zh=basis[0], basis_en=basis[1], assigned_at=task.created_at,
        on_scene_at=task.on_scene_at or event.on_scene_at, result_zh=result[0], result_en=result[1],
        disposition=event.disposition, resolved_at=event.resolved_at,
    )


def _event_department(session: Session, event_id: int) -> str:
    team = session.exec(select(GroundTeam).join(Task, Task.team_id == GroundTeam.id)
                        .where(Task.event_id == event_id).order_by(Task.id)).first()
    return team.department if team else DEFAULT_DEPARTMENT


# ---------------------------------------------------------------- views, coalesced


def client_tag(secret: str, client: str | None) -> str:
    """8 hex digits that tell clients apart within a window without keeping their address."""
    digest = hmac.new(secret.encode(), (client or "unknown").encode(), hashlib.sha256)
    return digest.hexdigest()[:8]


def record_view(session: Session, found: Found, *, client: str, now: datetime) -> bool:
    """Audit a view of `found`'s page by `client` (a `client_tag`), unless one is coalesced into
    an earlier row (see the module's docstring); True when a row was written."""
    if not _view_is_new(session, found, client, now):
        return False
    with writing(session):
        event = session.get(Event, found.event.id)  # its state now, inside the write
        if not _view_is_new(session, found, client, now):  # another request wrote it meanwhile
            return False
        session.add(AuditEntry(event_id=event.id, at=now, actor=PUBLIC_ACTOR, from_state=event.state,
                               to_state=event.state, reason=_view_reason(found.task, client)))
        session.commit()
    return True


def _view_reason(task: Task, client: str) -> str:
    return f"{VIEW_REASON}: task {task.id}, client {client}"


def _view_is_new(session: Session, found: Found, client: str, now: datetime) -> bool:
    prefix = f"{VIEW_REASON}: task {found.task.id}, "
    recent = session.exec(select(AuditEntry.reason).where(
        AuditEntry.event_id == found.event.id, AuditEntry.actor == PUBLIC_ACTOR,
        AuditEntry.at > now - timedelta(seconds=VIEW_WINDOW_S),
        AuditEntry.reason.startswith(prefix, autoescape=True))).all()
    session.commit()  # end the read: nothing is held between requests
    return len(recent) < VIEW_ROWS_PER_WINDOW and _view_reason(found.task, client) not in recent


# ---------------------------------------------------------------- feedback


def _no_control_chars(text: str) -> str:
    bad = [c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\t"]
    if bad:
        raise ValueError("may not contain control characters (only text, new lines and tabs)")
    return text


class FeedbackIn(BaseModel):
    """What the person inspected says: a rating from 1 (poor) to 5 (good) and an optional comment."""

    model_config = ConfigDict(extra="forbid")

    rating: Annotated[int, Field(strict=True, ge=1, le=5, description="1 (poor) … 5 (good)")]
    comment: str | None = Field(None, max_length=COMMENT_MAX_CHARS,
                                description=f"at most {COMMENT_MAX_CHARS} characters")

    @field_validator("comment")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _no_control_chars(value.strip())
        return value or None


class FeedbackPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    rating: int
    comment: str | None


def add_feedback(session: Session, found: Found, body: FeedbackIn, *, now: datetime) -> Feedback:
    """Store the feedback and its audit row in one transaction; TooManyRequests past the cap."""
    with writing(session):
        since = now - timedelta(hours=1)
        recent = session.exec(select(func.count()).select_from(Feedback).where(
            Feedback.task_id == found.task.id, Feedback.at > since)).one()
        if recent >= FEEDBACK_PER_HOUR:
            oldest = session.exec(select(func.min(Feedback.at)).where(
                Feedback.task_id == found.task.id, Feedback.at > since)).one()
            again = (oldest + timedelta(hours=1)).astimezone(LOCAL_TZ).strftime("%H:%M")
            raise TooManyRequests(
                f"this task already has {recent} feedback messages in the last hour; "
                f"try again after {again} (Beijing time) or call the 12345 citizen hotline")
        event = session.get(Event, found.event.id)
        feedback = Feedback(task_id=found.task.id, event_id=event.id, at=now, rating=body.rating,
                            comment=body.comment)
        session.add(feedback)
        session.add(AuditEntry(event_id=event.id, at=now, actor=PUBLIC_ACTOR, from_state=event.state,
                               to_state=event.state, reason=feedback_reason(body)))
        session.commit()
    return feedback


def feedback_reason(body: FeedbackIn) -> str:
    """The audit reason of a feedback: `feedback 4/5: <the comment's first 100 characters>`."""
    reason = f"feedback {body.rating}/5"
    if body.comment:
        text = " ".join(body.comment.split())
        if len(text) > COMMENT_IN_AUDIT_CHARS:
            text = text[:COMMENT_IN_AUDIT_CHARS - 1] + "…"
        reason += f": {text}"
    return reason
