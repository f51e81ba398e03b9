"""Rate limits per principal (the owner), and per client address for failed credentials.

Counting is the `limits` library's fixed one-minute windows, in Redis when REDIS_URL is set
(shared by every worker and instance) or in this process otherwise. The guard asks before
each request (backend.http.auth); `RateLimitHeaders` writes the verdict's RateLimit-* headers
on whatever answer the request gets.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.errors import TooManyRequests
from backend.settings import LimitsSettings

logger = logging.getLogger("backend.http")

# Route handlers name their budget in `opt`; every other guarded request uses REQUESTS.
BUDGET = "rate_budget"
UPLOADS = "uploads"
REQUESTS = "requests"
FAILED_AUTH = "failed-auth"
# Where the guard leaves the verdict for RateLimitHeaders (the ASGI scope's state).
STATE_KEY = "rate_limit"
# Redis must answer fast: a slow Redis must not hold up every request.
REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class Verdict:
    """One budget's state after a request was counted."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        """RateLimit-Limit, -Remaining and -Reset (seconds until the window ends)."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


class RateLimiter:
    """The budgets of LimitsSettings, over Redis or this process's memory."""

    def __init__(self, settings: LimitsSettings) -> None:
        self.items: dict[str, RateLimitItem | None] = {
            UPLOADS: _per_minute(settings.uploads_per_minute),
            REQUESTS: _per_minute(settings.requests_per_minute),
            FAILED_AUTH: _per_minute(settings.failed_auth_per_minute),
        }
        self.storage: Storage
        if settings.redis_url is not None:
            self.storage = RedisStorage(
                settings.redis_url,
                key_prefix=settings.rate_limit_key_prefix,
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
        else:
            self.storage = MemoryStorage(wrap_exceptions=True)
        self.limiter = FixedWindowRateLimiter(self.storage)

    def enabled(self, budget: str) -> bool:
        """Whether this budget has a limit at all."""
        return self.items[budget] is not None

    def hit(self, budget: str, who: str) -> Verdict | None:
        """Count one request against `who`'s budget; None when there is no limit (or no store)."""
        item = self.items[budget]
        if item is None:
            return None
        try:
            allowed = self.limiter.hit(item, budget, who)
            return self._verdict(item, allowed, budget, who)
        except StorageError:
            # Failing open: the limits protect the service, they must not take it down.
            logger.warning("rate limit store unavailable; %s not limited", budget, exc_info=True)
            return None

    def exhausted(self, budget: str, who: str) -> Verdict | None:
        """The budget's verdict if it is used up, without counting; None otherwise."""
        item = self.items[budget]
        if item is None:
            return None
        try:
            if self.limiter.test(item, budget, who):
                return None
            return self._verdict(item, False, budget, who)
        except StorageError:
            logger.warning("rate limit store unavailable; %s not limited", budget, exc_info=True)
            return None

    def _verdict(self, item: RateLimitItem, allowed: bool, budget: str, who: str) -> Verdict:
        stats = self.limiter.get_window_stats(item, budget, who)
        reset = max(1, int(stats.reset_time - time.time() + 0.999))
        return Verdict(allowed, item.amount, max(0, stats.remaining), reset)

    def close(self) -> None:
        """Let go of the store's connections."""
        if isinstance(self.storage, RedisStorage):
            self.storage.storage.close()


def _per_minute(amount: int | None) -> RateLimitItem | None:
    return RateLimitItemPerMinute(amount) if amount is not None else None


def refuse(verdict: Verdict, what: str) -> TooManyRequests:
    """The error a used-up budget answers with."""
    return TooManyRequests(
        f"Too many {what}: {verdict.limit} a minute are allowed; try again in "
        f"{verdict.reset_seconds} s.",
        retry_after_seconds=verdict.reset_seconds,
    )


class RateLimitHeaders:
    """ASGI wrapper: the RateLimit-* headers of the request's verdict, on any answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            state: dict[str, Any] = scope.get("state") or {}
            verdict = state.get(STATE_KEY)
            if message["type"] == "http.response.start" and isinstance(verdict, Verdict):
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in verdict.headers().items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
