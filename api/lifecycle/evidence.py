"""Evidence of an event: images checked, stored by content hash, and one row each."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from api.core.errors import NotFound
from api.core.media import store_image
from api.core.models import Evidence, Sighting, Task
from api.lifecycle.schemas import EvidencePublic


def add_evidence(session: Session, event_id: int, data: bytes, *, media_dir: Path, max_bytes: int,
                 kind: str, by: str, now: datetime,
                 checked: tuple[str, str] | None = None) -> Evidence:
    """Store ``data`` (refused unless a real image within ``max_bytes``) as evidence of an event.

    ``kind`` is snapshot, resolution or report; ``checked`` is ``check_image``'s answer when the
    caller already checked the bytes. The caller commits.
    """
    stored = store_image(media_dir, event_id, data, max_bytes=max_bytes, checked=checked)
    evidence = Evidence(event_id=event_id, kind=kind, path=stored.path,
                        content_type=stored.content_type, size_bytes=stored.size_bytes,
                        sha256=stored.sha256, uploaded_by=by, created_at=now)
    session.add(evidence)
    return evidence


def evidence_public(evidence: Evidence) -> EvidencePublic:
    """The public view of one evidence row, with the URL it is served at."""
    view = EvidencePublic.model_validate(evidence)
    view.url = f"/api/v1/evidence/{evidence.id}"
    return view


def evidence_of(session: Session, event_id: int) -> list[Evidence]:
    """An event's evidence, oldest first."""
    return list(session.exec(select(Evidence).where(Evidence.event_id == event_id)
                             .order_by(Evidence.id)).all())


def evidence_by_id(session: Session, evidence_id: int, *, team_id: str | None = None) -> Evidence:
    """One evidence row; NotFound when there is none, or (for ``team_id``) when its event is
    not one of that team's open tasks: the same answer, so ids of others' evidence stay hidden."""
    evidence = session.get(Evidence, evidence_id)
    if evidence is not None and team_id is not None and not session.exec(
            select(Task.id).where(Task.event_id == evidence.event_id, Task.team_id == team_id,
                                  Task.state != "cancelled")).first():
        evidence = None
    if evidence is None:
        raise NotFound(f"no evidence with id {evidence_id}")
    return evidence


def add_snapshot(session: Session, sighting: Sighting, data: bytes, *, media_dir: Path,
                 max_bytes: int, by: str, now: datetime,
                 checked: tuple[str, str] | None = None) -> Evidence:
    """A candidate's snapshot as evidence of its event, linked from its sighting."""
    evidence = add_evidence(session, sighting.event_id, data, media_dir=media_dir,
                            max_bytes=max_bytes, kind="snapshot", by=by, now=now, checked=checked)
    session.flush()
    sighting.evidence_id = evidence.id
    session.add(sighting)
    return evidence
