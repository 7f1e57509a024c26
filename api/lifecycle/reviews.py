"""Operators' verdicts kept as labelled samples, and the detector's precision by model version.

Every review of an event whose first candidate brought a snapshot and a box becomes one
``ReviewSample``: the snapshot, the verdict, the class and the box (the operator's correction
when they made one, else the detector's). ``flyonce dataset --from-reviews`` turns them into a
YOLO dataset (``api.cli.reviews``).
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from api.core.models import AuditEntry, Event, Evidence, ModelVersionRow, ReviewSample, Sighting
from api.lifecycle import merge
from api.lifecycle.schemas import ReviewSamplePublic, VersionPrecision


def record_sample(session: Session, event: Event, *, confirm: bool, detected_type: str,
                  box_xyxy: list[float] | None, actor: str, now: datetime) -> ReviewSample | None:
    """The sample a review of ``event`` makes (added to the session), or None when the event
    has no snapshot with a box to label (a hotline report, a candidate sent without one).
    ``event.type`` is already the operator's class; ``box_xyxy`` their correction, if any."""
    first = session.exec(select(Sighting).where(Sighting.event_id == event.id,
                                                Sighting.kind.in_([merge.FIRST, merge.SPLIT]))
                         .order_by(Sighting.id)).first()
    if first is None or first.evidence_id is None:
        return None
    detected_box = json.loads(first.box_xyxy) if first.box_xyxy else None
    box = [round(float(v), 1) for v in box_xyxy] if box_xyxy is not None else detected_box
    if box is None:
        return None
    sample = ReviewSample(
        event_id=event.id, evidence_id=first.evidence_id, verdict="confirm" if confirm else "reject",
        type=event.type, detected_type=detected_type, box_xyxy=json.dumps(box),
        detected_box_xyxy=json.dumps(detected_box) if detected_box is not None else None,
        corrected=box != detected_box or event.type != detected_type,
        model_version=first.model_version or event.model_version, reviewed_by=actor,
        reviewed_at=now)
    session.add(sample)
    return sample


def samples(session: Session, *, offset: int = 0, limit: int | None = None
            ) -> list[tuple[ReviewSample, Evidence]]:
    """Samples with their snapshot's evidence row, oldest first."""
    query = (select(ReviewSample, Evidence).join(Evidence, Evidence.id == ReviewSample.evidence_id)
             .order_by(ReviewSample.id).offset(offset))
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def sample_public(sample: ReviewSample) -> ReviewSamplePublic:
    view = ReviewSamplePublic.model_validate(sample)
    view.snapshot_url = f"/api/v1/evidence/{sample.evidence_id}"
    return view


def precision_by_version(session: Session) -> list[VersionPrecision]:
    """Per model version: events confirmed and rejected by an operator, and their precision
    confirmed / (confirmed + rejected). A rejection by the zone rules (a permitted market) is no
    verdict on the detector and is not counted; nor are events no operator reviewed yet."""
    by_operator = (select(AuditEntry.id).where(AuditEntry.event_id == Event.id,
                                               AuditEntry.to_state == "rejected",
                                               AuditEntry.actor != "system").exists())
    confirmed = sa.and_(Event.reviewed_at.is_not(None), Event.reject_reason.is_(None))

    def count(cond):
        return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)

    rows = session.exec(
        select(Event.model_version, count(confirmed), count(by_operator), sa.func.count(),
               sa.func.min(Event.detected_at))
        .group_by(Event.model_version)).all()
    known = {r.version: r for r in session.exec(select(ModelVersionRow)).all()}
    out = []
    for version, confirmed, rejected, events, first in rows:
        promoted = known.get(version) if version else None
        out.append(VersionPrecision(
            model_version=version, events=events, confirmed=confirmed, rejected=rejected,
            precision=round(confirmed / (confirmed + rejected), 4) if confirmed + rejected else None,
            first_event_at=first,
            promoted_at=promoted.promoted_at if promoted else None,
            figures=json.loads(promoted.figures) if promoted and promoted.figures else None))
    out.sort(key=lambda v: (v.first_event_at is None, v.first_event_at))
    return out
