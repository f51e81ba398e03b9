"""CORS for web apps on other origins: exact origins only, and nothing at all for the rest.

Litestar's own CORS middleware also sends Allow-Methods, Allow-Headers and Expose-Headers to
origins it refuses; this one answers an origin that is not allowed exactly as if CORS did not
exist, and a preflight from an allowed one without asking for credentials (preflights never
carry them, so the auth guard must not see them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from backend.http.problems import PROBLEM_JSON, problem

# What browser clients send and read. Headers a later feature adds (Idempotency-Key, ...) go
# here, so a preflight never has to change shape for them.
ALLOWED_METHODS = ("GET", "POST", "PUT", "DELETE")
ALLOWED_HEADERS = ("authorization", "content-type", "idempotency-key", "x-request-id")
EXPOSED_HEADERS = (
    "Location",
    "Retry-After",
    "WWW-Authenticate",
    "X-Request-ID",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
)
MAX_AGE_SECONDS = 3600


class CorsPolicy:
    """Which origins may call the API from a browser: a set of exact origins, or `*`."""

    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(origins)
        self.any_origin = "*" in self.origins

    def allows(self, origin: str) -> bool:
        """Whether a page on `origin` may read the API's answers."""
        return self.any_origin or origin in self.origins

    def allow_origin_value(self, origin: str) -> str:
        """What Access-Control-Allow-Origin says to an allowed origin."""
        return "*" if self.any_origin else origin


class CorsMiddleware:
    """ASGI middleware around the whole app, so unknown paths and 405s carry CORS too."""

    def __init__(self, app: ASGIApp, policy: CorsPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer preflights; add CORS headers to answers for allowed origins."""
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin, headers, send)
            return
        await self.app(scope, receive, self._decorate(send, origin))

    async def _preflight(self, origin: str, headers: dict[str, str], send: Send) -> None:
        method = headers["access-control-request-method"].strip().upper()
        requested = {
            name.strip().lower()
            for name in headers.get("access-control-request-headers", "").split(",")
            if name.strip()
        }
        if (
            not self.policy.allows(origin)
            or method not in ALLOWED_METHODS
            or not requested <= set(ALLOWED_HEADERS)
        ):
            # No CORS headers: the browser refuses the request and the page learns nothing.
            refusal = problem(
                403,
                "cors_not_allowed",
                f"A page on {origin} may not send {method} with these headers to this API.",
            )
            await _respond(send, 403, [(b"vary", b"Origin")], msgspec.json.encode(refusal))
            return
        answer = [
            (b"access-control-allow-origin", self.policy.allow_origin_value(origin).encode()),
            (b"access-control-allow-methods", ", ".join(ALLOWED_METHODS).encode()),
            (b"access-control-allow-headers", ", ".join(ALLOWED_HEADERS).encode()),
            (b"access-control-max-age", str(MAX_AGE_SECONDS).encode()),
            (b"vary", b"Origin"),
        ]
        await _respond(send, 204, answer, None)

    def _decorate(self, send: Send, origin: str) -> Send:
        allowed = self.policy.allows(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"vary", b"Origin")]
                if allowed:
                    extra += [
                        (
                            b"access-control-allow-origin",
                            self.policy.allow_origin_value(origin).encode(),
                        ),
                        (b"access-control-expose-headers", ", ".join(EXPOSED_HEADERS).encode()),
                    ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return send_with_cors


def _headers(scope: HTTPScope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes | None
) -> None:
    if body is not None:
        headers = [*headers, (b"content-type", PROBLEM_JSON.encode())]
    length = (b"content-length", str(len(body or b"")).encode())
    start: Any = {"type": "http.response.start", "status": status, "headers": [*headers, length]}
    await send(start)
    await send({"type": "http.response.body", "body": body or b"", "more_body": False})
