"""Every request gets an id, one access log line, and its place in the request metrics.

The id comes from the caller's `X-Request-ID` when it is well-formed (so a trace can cross a
proxy or another service) and is generated otherwise; it goes back in the response's
`X-Request-ID`, on every log line the request writes, and into problem bodies.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.logs import RequestContext, enter_request, leave_request
from backend.metrics import Metrics

logger = logging.getLogger("backend.access")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Probes answer every few seconds: their lines would drown everything else at info.
_QUIET_ROUTES = frozenset({"/health/live", "/health/ready", "/metrics"})
# Any token is a method to HTTP; labels take only these, so odd ones cannot flood the metrics.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_id_from(value: str | None) -> str:
    """The caller's id when it is one we can log safely; a fresh one otherwise."""
    if value is not None and _REQUEST_ID.fullmatch(value):
        return value
    # 128 random bits, as a uuid4 would give, but not from os.urandom: that call lets go of
    # the GIL on the event loop's thread, which then waits for a worker thread to hand it
    # back (up to the 5 ms switch interval) before it can serve anything else. An id needs
    # to be unique, not secret; each process seeds its generator from os.urandom.
    return f"{random.getrandbits(128):032x}"


class RequestTracking:
    """ASGI middleware, outermost: ids, the access line, request counts and latencies."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], Metrics | None]) -> None:
        self.app = app
        self.metrics = metrics  # read per request: the app makes its metrics at startup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request inside its RequestContext, then account for it."""
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
        context = RequestContext(request_id_from(given.decode("latin-1") if given else None))
        status = 500  # what the server answers if the app fails before it answers at all
        started = time.perf_counter()

        async def send_tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    *message.get("headers", []),
                    (b"x-request-id", context.request_id.encode()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        token = enter_request(context)
        try:
            await self.app(scope, receive, send_tracked)
        finally:
            elapsed = time.perf_counter() - started
            # The router writes the matched route's template into the scope it was given.
            route = str(scope.get("path_template") or "unmatched")
            file_id = scope.get("path_params", {}).get("file_id")
            if context.file_id is None and isinstance(file_id, str):
                context.file_id = file_id[:64]
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            logger.log(
                logging.DEBUG if route in _QUIET_ROUTES else logging.INFO,
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "latency_ms": round(elapsed * 1000, 2),
                },
            )
            if (metrics := self.metrics()) is not None:
                metrics.requests.labels(method, route, str(status)).inc()
                metrics.request_seconds.labels(method, route).observe(elapsed)
            leave_request(token)
