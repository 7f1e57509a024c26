"""Routes for first offences, repeats and hot spots (首违免罚)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["offences"])
