"""Task codes (亮码): the code's form, the QR image, the public page and its JSON, feedback,
and the audit rows that views and feedback leave — on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import re
import secrets
import string

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.core.auth import create_token
from api.core.models import AuditEntry, Feedback, Task, User
from api.demo import taskcode_pages
from api.enforcement import taskcodes
from tests.api.conftest import (
    START,
    TEST_SECRET,
    TEST_TOKEN_TTL_S,
    ManualClock,
    candidate,
    demo_hash,
)

# A team member and an operator with names that must never reach the public page.
MEMBER, OPERATOR = "zhang.wei.1987", "li.na.duty"
NOTE = "vendor Wang, phone 13800138000"
# Inside the sample town's Dongyuan residential block, with digits the page must not show.
LAT, LON = 29.50271, 120.91186
PUBLIC_FIELDS = {"code", "department", "team", "drone", "event_type", "checked_zh", "checked_en",
                 "place_zh", "place_en", "zone_rule_zh", "zone_rule_en", "basis_zh", "basis_en",
                 "assigned_at", "on_scene_at", "result_zh", "result_en", "disposition", "resolved_at"}


def _bearer(name: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(name, role, secret=TEST_SECRET, ttl_s=TEST_TOKEN_TTL_S)}"}


@pytest.fixture
def people(client: TestClient) -> dict[str, dict[str, str]]:
    with Session(client.app.state.engine) as session:
        session.add(User(username=MEMBER, password_hash=demo_hash(), role="ground_team", team_id="t1",
                         created_at=START))
        session.add(User(username=OPERATOR, password_hash=demo_hash(), role="operator", created_at=START))
        session.commit()
    return {"member": _bearer(MEMBER, "ground_team"), "operator": _bearer(OPERATOR, "operator")}


def _event(client: TestClient, headers: dict, people: dict, *, type: str = "street_stall",
           team: str | None = "t1", drone: str | None = None) -> int:
    eid = client.post("/api/v1/candidates", json=candidate(lat=LAT, lon=LON, type=type),
                      headers=headers["det"]).json()["id"]
    assert client.post(f"/api/v1/events/{eid}/review", json={"decision": "confirm"},
                       headers=people["operator"]).status_code == 200
    body = {k: v for k, v in (("team_id", team), ("drone_id", drone)) if v}
    assert client.post(f"/api/v1/events/{eid}/assign", json=body,
                       headers=people["operator"]).status_code == 200
    return eid


def _task(client: TestClient, eid: int, kind: str = "team") -> Task:
    with Session(client.app.state.engine) as session:
        return session.exec(select(Task).where(Task.event_id == eid, Task.kind == kind)).one()


def _audit(client: TestClient, eid: int) -> list[AuditEntry]:
    with Session(client.app.state.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.event_id == eid)
                                 .order_by(AuditEntry.id)).all())


def _public_rows(client: TestClient, eid: int, prefix: str) -> list[AuditEntry]:
    return [a for a in _audit(client, eid) if a.actor == "public" and a.reason.startswith(prefix)]


def _resolved(client: TestClient, headers: dict, people: dict, clock: ManualClock) -> tuple[int, Task]:
    eid = _event(client, headers, people)
    clock.advance(120)
    assert client.post(f"/api/v1/events/{eid}/on-scene", headers=people["member"]).status_code == 200
    clock.advance(300)
    r = client.post(f"/api/v1/events/{eid}/resolve", data={"disposition": "removed", "note": NOTE},
                    headers=people["member"])
    assert r.status_code == 200, r.text
    return eid, _task(client, eid)


# ---------------------------------------------------------------- the code itself


def test_a_code_carries_128_random_bits_in_its_form() -> None:
    # token_urlsafe(16): 16 bytes in unpadded base64url = 21 characters of 6 bits, then one of 2.
    codes = [Task(event_id=1, kind="team", created_by="x").code for _ in range(2000)]
    assert len(set(codes)) == 2000
    alphabet = set(string.ascii_letters + string.digits + "-_")
    assert all(taskcodes.is_well_formed(c) and len(c) == 22 for c in codes)
    # 2000 × 21 draws from 64 symbols: a symbol is missed with probability 64·(63/64)^42000 ≈ 0.
    assert {ch for c in codes for ch in c[:21]} == alphabet
    # The last character's 2 bits: the four symbols whose low 4 bits are zero.
    assert {c[21] for c in codes} == {"A", "Q", "g", "w"}
    assert 21 * 6 + 2 == taskcodes.CODE_BITS == 128
    assert {len(base64.urlsafe_b64decode(c + "==")) for c in codes[:50]} == {16}


def test_every_assigned_task_gets_its_own_well_formed_code(client: TestClient, headers, people) -> None:
    eid = _event(client, headers, people, drone="d1")
    tasks = client.get("/api/v1/tasks", headers=headers["op"]).json()
    codes = [t["code"] for t in tasks if t["event_id"] == eid]
    assert len(codes) == 2 and codes[0] != codes[1]
    assert all(taskcodes.is_well_formed(c) for c in codes)


def test_enumerating_ids_or_guessing_codes_finds_nothing(client: TestClient, headers, people) -> None:
    eid = _event(client, headers, people)
    task = _task(client, eid)
    for n in {1, 2, task.id, eid}:
        assert client.get(f"/c/{n}").status_code == 404
        assert client.get(f"/api/v1/public/tasks/{n}").status_code == 404
    # A code one character off is as unknown as any other, and the answer gives no hint.
    near = task.code[:-1] + ("B" if task.code[-1] != "B" else "C")
    pages = [client.get(f"/c/{c}") for c in (near, secrets.token_urlsafe(16), "short", "a/b/c")]
    assert {p.status_code for p in pages} == {404}
    assert len({p.text for p in pages}) == 1
    assert "not valid" in pages[0].text
    assert client.get(f"/api/v1/public/tasks/{near}").json() == {"detail": taskcodes.INVALID_CODE}
    r = client.post(f"/api/v1/public/tasks/{near}/feedback", json={"rating": 5})
    assert r.status_code == 404
    with Session(client.app.state.engine) as session:
        assert session.exec(select(Feedback)).all() == []


# ---------------------------------------------------------------- QR images for staff


def _decode(png: bytes) -> str:
    """The text of a QR image, read by OpenCV's detector, or by its ArUco-based one where the
    first finds nothing: the first misses about one random task code in 300 (a CI run drew
    lKtGl9Y2FqpYDvlRXVO02A, which the second reads), as a phone's scanner would not."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    if not text:
        text, _points, _ = cv2.QRCodeDetectorAruco().detectAndDecode(image)
    return text


def test_the_qr_image_decodes_to_the_public_url(client: TestClient, headers, people) -> None:
    eid = _event(client, headers, people)
    code = _task(client, eid).code
    task_id = _task(client, eid).id
    r = client.get(f"/api/v1/tasks/{task_id}/qr.png", headers=headers["tm1"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    # TestClient's base URL is http://testserver; without FLYONCE_PUBLIC_BASE_URL that is the base.
    assert _decode(r.content) == f"http://testserver/c/{code}"
    assert r.headers["x-public-url"] == f"http://testserver/c/{code}"
    svg = client.get(f"/api/v1/tasks/{task_id}/qr.svg", headers=headers["op"])
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.startswith("<svg") and "task code" in svg.text


def test_the_qr_image_uses_the_configured_public_base_url(client: TestClient, headers, people) -> None:
    client.app.state.settings.public_base_url = "https://patrol.example.gov.cn/"
    eid = _event(client, headers, people)
    task = _task(client, eid)
    png = client.get(f"/api/v1/tasks/{task.id}/qr.png?scale=3", headers=headers["op"]).content
    assert _decode(png) == f"https://patrol.example.gov.cn/c/{task.code}"
    assert taskcodes.public_url("https://patrol.example.gov.cn/", task.code) == \
        f"https://patrol.example.gov.cn/c/{task.code}"


@pytest.mark.parametrize(("user", "status"), [
    # another team's task is answered like a missing one (issue 33)
    ("op", 200), ("adm", 200), ("eva", 200), ("tm1", 200), ("tm2", 404), ("det", 403), (None, 401),
])
def test_only_staff_and_the_tasks_own_team_get_its_qr(client: TestClient, headers, people,
                                                      user: str | None, status: int) -> None:
    task = _task(client, _event(client, headers, people))
    r = client.get(f"/api/v1/tasks/{task.id}/qr.svg", headers=headers[user] if user else {})
    assert r.status_code == status
    if status != 200:
        assert task.code not in r.text


def test_an_unknown_task_has_no_qr(client: TestClient, headers) -> None:
    r = client.get("/api/v1/tasks/4242/qr.png", headers=headers["op"])
    assert r.status_code == 404 and "no task with id 4242" in r.json()["detail"]


# ---------------------------------------------------------------- the public page


def test_the_public_page_shows_who_why_and_the_result_and_nothing_private(
        client: TestClient, headers, people, clock: ManualClock) -> None:
    eid, task = _resolved(client, headers, people, clock)
    zone = client.get(f"/api/v1/events/{eid}", headers=headers["op"]).json()["zone_name"]
    assert zone == "Dongyuan residential block"
    page = client.get(f"/c/{task.code}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    for shown in ("城管执法", "T1", "占道经营", "Dongyuan residential block", "居住区",
                  "城市市容和环境卫生管理条例", "责令清除", "removed",
                  # assigned 08:00 UTC, resolved 7 minutes later: 16:00 and 16:07 in Beijing
                  "2026-11-25 16:00", "2026-11-25 16:07"):
        assert shown in text, shown
    for private in (MEMBER, OPERATOR, "detector:drone-1", "13800138000", "Wang", str(LAT), str(LON),
                    "29.502", "120.911"):
        assert private not in text, private
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"


def test_the_public_json_has_only_the_public_fields(client: TestClient, headers, people,
                                                     clock: ManualClock) -> None:
    _eid, task = _resolved(client, headers, people, clock)
    r = client.get(f"/api/v1/public/tasks/{task.code}")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == PUBLIC_FIELDS
    assert (body["department"], body["team"], body["drone"]) == ("城管执法", "T1", None)
    assert (body["disposition"], body["result_zh"]) == ("removed", "责令清除")
    flat = repr(body)
    assert not any(p in flat for p in (MEMBER, OPERATOR, "13800138000", str(LAT), str(LON)))


def test_a_fuel_sale_cites_the_hazardous_chemicals_rules_and_is_in_progress(
        client: TestClient, headers, people) -> None:
    task = _task(client, _event(client, headers, people, type="mobile_fuel_sale"))
    body = client.get(f"/api/v1/public/tasks/{task.code}").json()
    assert "危险化学品安全管理条例" in body["basis_zh"]
    assert (body["checked_zh"], body["result_zh"], body["resolved_at"]) == ("非法流动供油", "已派员，处理中", None)


def test_a_drone_task_names_the_drone_and_the_events_team_department(client: TestClient, headers,
                                                                      people) -> None:
    eid = _event(client, headers, people, drone="d1", team="t2")
    body = client.get(f"/api/v1/public/tasks/{_task(client, eid, 'drone').code}").json()
    assert (body["drone"], body["team"], body["department"]) == ("D1", None, "城管执法")


# ---------------------------------------------------------------- views in the audit trail


def test_a_view_is_audited_once_per_client_per_minute(client: TestClient, headers, people,
                                                      clock: ManualClock) -> None:
    eid = _event(client, headers, people)
    task = _task(client, eid)
    for _ in range(3):
        assert client.get(f"/c/{task.code}").status_code == 200
    assert client.get(f"/api/v1/public/tasks/{task.code}").status_code == 200
    rows = _public_rows(client, eid, "task code viewed")
    assert len(rows) == 1
    assert (rows[0].from_state, rows[0].to_state, rows[0].at) == ("assigned", "assigned", START)
    assert rows[0].reason.startswith(f"task code viewed: task {task.id}, client ")
    assert "testclient" not in rows[0].reason  # the client's address is never stored
    other = TestClient(client.app, client=("203.0.113.7", 40000))
    assert other.get(f"/c/{task.code}").status_code == 200
    assert len(_public_rows(client, eid, "task code viewed")) == 2
    clock.advance(taskcodes.VIEW_WINDOW_S + 1)
    client.get(f"/c/{task.code}")
    assert len(_public_rows(client, eid, "task code viewed")) == 3


def test_views_of_one_code_write_at_most_ten_rows_a_minute_whoever_asks(
        client: TestClient, headers, people, clock: ManualClock) -> None:
    eid = _event(client, headers, people)
    task = _task(client, eid)
    for n in range(25):
        TestClient(client.app, client=(f"198.51.100.{n}", 40000)).get(f"/c/{task.code}")
    assert len(_public_rows(client, eid, "task code viewed")) == taskcodes.VIEW_ROWS_PER_WINDOW == 10
    clock.advance(taskcodes.VIEW_WINDOW_S + 1)
    TestClient(client.app, client=("198.51.100.0", 40000)).get(f"/c/{task.code}")
    assert len(_public_rows(client, eid, "task code viewed")) == 11


# ---------------------------------------------------------------- feedback


def test_feedback_is_stored_and_audited(client: TestClient, headers, people, clock: ManualClock) -> None:
    eid, task = _resolved(client, headers, people, clock)
    r = client.post(f"/api/v1/public/tasks/{task.code}/feedback",
                    json={"rating": 4, "comment": "  态度很好，谢谢  "})
    assert r.status_code == 201, r.text
    assert r.json()["rating"] == 4 and r.json()["comment"] == "态度很好，谢谢"
    with Session(client.app.state.engine) as session:
        stored = session.exec(select(Feedback)).one()
    assert (stored.task_id, stored.event_id, stored.rating, stored.comment, stored.at) == \
        (task.id, eid, 4, "态度很好，谢谢", clock.now())
    rows = _public_rows(client, eid, "feedback")
    assert [(a.reason, a.from_state, a.to_state) for a in rows] == \
        [("feedback 4/5: 态度很好，谢谢", "evaluated", "evaluated")]
    # The staff's audit route shows it too.
    trail = client.get(f"/api/v1/events/{eid}/audit", headers=headers["op"]).json()
    assert trail[-1]["actor"] == "public" and trail[-1]["reason"] == "feedback 4/5: 态度很好，谢谢"


def test_a_long_comment_is_kept_whole_and_shortened_in_the_audit_row(client: TestClient, headers,
                                                                      people) -> None:
    eid = _event(client, headers, people)
    comment = "好" * 500
    r = client.post(f"/api/v1/public/tasks/{_task(client, eid).code}/feedback",
                    json={"rating": 2, "comment": comment})
    assert r.status_code == 201
    with Session(client.app.state.engine) as session:
        assert session.exec(select(Feedback)).one().comment == comment
    # "feedback 2/5: " then 99 characters and an ellipsis: 100 of the comment's characters shown.
    assert _public_rows(client, eid, "feedback")[0].reason == "feedback 2/5: " + "好" * 99 + "…"


@pytest.mark.parametrize(("body", "says"), [
    ({"rating": 9}, "rating: Input should be less than or equal to 5"),
    ({"rating": 0}, "rating: Input should be greater than or equal to 1"),
    ({"rating": "4"}, "rating: Input should be a valid integer"),
    ({}, "rating: Field required"),
    ({"rating": 3, "comment": "x" * 501}, "comment: String should have at most 500 characters"),
    ({"rating": 3, "comment": "bad\x00byte"}, "comment: Value error, may not contain control characters"),
    ({"rating": 3, "name": "Wang"}, "name: Extra inputs are not permitted"),
    ('{"rating": 4,', "JSON decode error"),
])
def test_bad_feedback_is_refused_with_a_message_and_nothing_stored(client: TestClient, headers, people,
                                                                   body, says: str) -> None:
    eid = _event(client, headers, people)
    url = f"/api/v1/public/tasks/{_task(client, eid).code}/feedback"
    if isinstance(body, str):
        r = client.post(url, content=body, headers={"Content-Type": "application/json"})
    else:
        r = client.post(url, json=body)
    assert r.status_code == 422
    assert says in r.json()["detail"]
    with Session(client.app.state.engine) as session:
        assert session.exec(select(Feedback)).all() == []
    assert _public_rows(client, eid, "feedback") == []


def test_feedback_past_five_an_hour_is_refused_until_the_hour_is_over(client: TestClient, headers,
                                                                     people, clock: ManualClock) -> None:
    eid = _event(client, headers, people)
    url = f"/api/v1/public/tasks/{_task(client, eid).code}/feedback"
    for n in range(5):
        assert client.post(url, json={"rating": 1 + n}).status_code == 201
        clock.advance(60)
    r = client.post(url, json={"rating": 5})
    # The first came at 08:00 UTC: the hour is over at 09:00 UTC, 17:00 in Beijing.
    assert r.status_code == 429 and "try again after 17:00" in r.json()["detail"]
    assert len(_public_rows(client, eid, "feedback")) == 5
    clock.advance(3600 - 5 * 60 + 1)
    assert client.post(url, json={"rating": 5}).status_code == 201
    with Session(client.app.state.engine) as session:
        assert [f.rating for f in session.exec(select(Feedback).order_by(Feedback.id))] == [1, 2, 3, 4, 5, 5]


# ---------------------------------------------------------------- for the demo


def test_the_demo_helper_opens_a_tasks_page_and_checks_its_team(client: TestClient, headers,
                                                               people) -> None:
    task = _task(client, _event(client, headers, people))
    assert taskcode_pages.check_public_page(client, task.code, team_name="T1") == \
        f"http://testserver/c/{task.code}"
    with pytest.raises(taskcode_pages.PublicPageError, match="does not name the team 'T2'"):
        taskcode_pages.check_public_page(client, task.code, team_name="T2")
    with pytest.raises(taskcode_pages.PublicPageError, match="answered 404"):
        taskcode_pages.check_public_page(client, secrets.token_urlsafe(16), team_name="T1")
    assert re.fullmatch(r"http://testserver/c/[A-Za-z0-9_-]{22}", taskcodes.public_url(
        "http://testserver", task.code))


def test_the_demo_opens_the_newest_team_tasks_page(client: TestClient, headers, people) -> None:
    with pytest.raises(taskcode_pages.PublicPageError, match="no ground-team task yet"):
        taskcode_pages.open_a_team_task_page(client, headers["op"])
    _event(client, headers, people, team="t1")
    newest = _task(client, _event(client, headers, people, team="t2", drone="d1"))
    opened = taskcode_pages.open_a_team_task_page(client, headers["op"])
    assert (opened.task_id, opened.team, opened.url) == \
        (newest.id, "T2", f"http://testserver/c/{newest.code}")


def test_the_qr_decoder_reads_the_code_one_opencv_detector_missed() -> None:
    url = "http://testserver/c/lKtGl9Y2FqpYDvlRXVO02A"
    assert _decode(taskcodes.qr_png(url)) == url
