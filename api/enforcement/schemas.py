"""What crosses the HTTP edge for loudspeaker warnings (远程劝导) and scene checks."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.core.schemas import UtcTime
from dispatch.speaker import MAX_REPEAT, MAX_TEXT_CHARS

TEXT_MAX_CHARS = MAX_TEXT_CHARS  # about 50 s of Mandarin speech
REPEAT_MAX = MAX_REPEAT


class PersuadeIn(BaseModel):
    """A warning to play: exactly one of a clip number or a text."""

    model_config = ConfigDict(extra="forbid")

    clip_id: int | None = Field(None, ge=1, le=0xFFFF, strict=True,
                                description="A clip on the speaker's card.")
    # The schema's bound leaves room for the blanks that are stripped before the real limit.
    text: str | None = Field(None, max_length=4 * TEXT_MAX_CHARS,
                             description=f"Spoken text, 1-{TEXT_MAX_CHARS} characters.")
    repeat: int = Field(1, ge=1, le=REPEAT_MAX, strict=True)

    @model_validator(mode="after")
    def _one_message(self) -> PersuadeIn:
        if (self.clip_id is None) == (self.text is None):
            raise ValueError("give exactly one of clip_id (a recorded clip, e.g. 1) or text "
                             "(what the drone should say)")
        if self.text is not None:
            self.text = self.text.strip()
            if not self.text:
                raise ValueError("text is empty; write the warning to speak, or give a clip_id")
            if len(self.text) > TEXT_MAX_CHARS:
                raise ValueError(f"text has {len(self.text)} characters; at most {TEXT_MAX_CHARS} "
                                 "(about 50 s of speech) fit one warning, shorten it")
        return self


class PersuasionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    drone_id: str | None
    kind: str
    clip_id: int | None
    text: str | None
    repeat: int
    requested_by: str
    requested_at: datetime
    played_at: datetime | None
    result: int | None
    watch_until: datetime | None
    outcome: str
    decided_at: datetime | None
    note: str | None


class SceneCheckIn(BaseModel):
    """One look at the scene from the drone: is the violation still there?"""

    model_config = ConfigDict(extra="forbid")

    present: bool = Field(strict=True)
    confidence: float | None = Field(None, ge=0, le=1, strict=True)
    at: UtcTime | None = Field(None, description="When the frame was taken; default now. "
                               "2000 to 2100, stored in UTC.")
    drone_id: str | None = Field(None, max_length=64)


class SceneCheckPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    at: datetime
    present: bool
    confidence: float | None
    drone_id: str | None
    source: str


class SceneCheckAck(BaseModel):
    """What a detector learns from reporting a scene check: that it was stored, as which id."""

    id: int
    event_id: int


class SceneCheckResult(BaseModel):
    """The stored check, the event's state after it, and the play it counted for (if any)."""

    check: SceneCheckPublic
    event_state: str
    persuasion: PersuasionPublic | None
