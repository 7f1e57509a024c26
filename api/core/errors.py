"""Errors of the service layer, and how each becomes an HTTP answer.

    ServiceError                      base; carries `status_code` and an actionable message
    ├── NotFound                      404: unknown event, drone, team, user, evidence
    ├── Forbidden                     403: the role or team may not do this
    ├── IllegalTransition             409: the lifecycle forbids it; names the allowed next states
    ├── Conflict                      409: a unique value already exists
    ├── TooManyRequests               429: a public write came too often; says when to try again
    ├── TooLarge                      413: an image with more pixels than the service decodes
    └── BadInput                      422: a value the schema could not catch (bad image, bad zone)

Domain packages raise their own errors; routes translate them here with `raise X from exc`.
"""

from __future__ import annotations

from collections.abc import Iterable


class ServiceError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    status_code = 404


class Forbidden(ServiceError):
    status_code = 403


class Conflict(ServiceError):
    status_code = 409


class TooManyRequests(ServiceError):
    status_code = 429

    def __init__(self, message: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s  # the Retry-After header, when known


class TooLarge(ServiceError):
    status_code = 413


class BadInput(ServiceError):
    status_code = 422


class IllegalTransition(ServiceError):
    """Raised when an event is asked to move to a state its current state does not allow."""

    status_code = 409

    def __init__(self, event_id: int, from_state: str, to_state: str, allowed: Iterable[str]) -> None:
        self.event_id = event_id
        self.from_state = from_state
        self.to_state = to_state
        self.allowed = sorted(allowed)
        allowed_text = ", ".join(self.allowed) if self.allowed else "none (it is final)"
        super().__init__(
            f"event {event_id} is '{from_state}' and cannot become '{to_state}'; "
            f"allowed next states: {allowed_text}"
        )
