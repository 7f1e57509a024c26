"""Routes for remote persuasion through the drone's loudspeaker (远程劝导) and scene checks."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["persuasion"])
