"""Routes for task codes (亮码): the public, read-only page of a task and its feedback."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["task codes"])
