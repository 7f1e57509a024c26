"""Routes for department patrol requests merged into shared flights (综合飞一次)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["patrols"])
