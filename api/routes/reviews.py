"""Review → retrain: the labelled samples operators' verdicts made, and precision by model."""

from __future__ import annotations

from fastapi import APIRouter, Query

from api.lifecycle import reviews
from api.lifecycle.schemas import ReviewSamplePublic, VersionPrecision
from api.routes.deps import Allowed, SessionDep
from api.routes.params import Offset

router = APIRouter(prefix="/api/v1", tags=["reviews"])


@router.get("/reviews/samples", response_model=list[ReviewSamplePublic],
            summary="Operators' verdicts on snapshots, as labelled samples, oldest first")
def list_samples(_user: Allowed, session: SessionDep, offset: Offset = 0,
                 limit: int = Query(500, ge=1, le=5000)) -> list[ReviewSamplePublic]:
    rows = reviews.samples(session, offset=offset, limit=limit)
    return [reviews.sample_public(sample) for sample, _evidence in rows]


@router.get("/detection/models", response_model=list[VersionPrecision],
            summary="Each detector weights version: events it found, confirmed and rejected by "
                    "operators, precision")
def list_models(_user: Allowed, session: SessionDep) -> list[VersionPrecision]:
    return reviews.precision_by_version(session)
