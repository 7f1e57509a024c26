"""Login throttling: too many failed logins to one account, or from one client address, within a
window are refused with 429 and a Retry-After, before the password is even checked.

Counted with ``limits`` (moving windows): in Redis when the service has one, so every `serve`
process counts the same failures; in this process's memory otherwise (one process, or SQLite).
Only failures count. A success clears its account's count (the owner got in), never the
client's (an attacker holding one good account must not reset the count of its guesses).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from api.core.errors import TooManyRequests


class LoginThrottled(TooManyRequests):
    """A refused login; ``scope`` is the limit it hit: ``account`` or ``client``."""

    def __init__(self, message: str, *, scope: str, retry_after_s: int) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.scope = scope


class LoginThrottle:
    def __init__(self, *, per_account: int, per_client: int, window_s: int,
                 redis_url: str | None = None, namespace: str = "flyonce") -> None:
        uri = redis_url or "memory://"
        # One count per deployment: two services on one Redis (or two tests) count apart.
        options = {"key_prefix": f"{namespace}:login"} if redis_url else {}
        self._limiter = MovingWindowRateLimiter(storage_from_string(uri, **options))
        self._account = RateLimitItemPerSecond(per_account, window_s)
        self._client = RateLimitItemPerSecond(per_client, window_s)

    def check(self, username: str, client: str) -> None:
        """Raise LoginThrottled (with the wait) when the account or the client is over its limit."""
        for item, scope, key in ((self._account, "account", username.lower()),
                                 (self._client, "client", client)):
            if not self._limiter.test(item, scope, key):
                reset = self._limiter.get_window_stats(item, scope, key).reset_time
                wait_s = max(1, math.ceil(reset - time.time()))
                raise LoginThrottled(
                    f"too many failed logins for this {scope}; try again in {wait_s} s",
                    scope=scope, retry_after_s=wait_s)

    def failed(self, username: str, client: str) -> None:
        self._limiter.hit(self._account, "account", username.lower())
        self._limiter.hit(self._client, "client", client)

    def succeeded(self, username: str) -> None:
        self._limiter.clear(self._account, "account", username.lower())
