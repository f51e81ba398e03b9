"""Who is calling: the owner behind the bearer API key or access token, checked first."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from backend.domain.keys import KeyService, Principal, Scope
from backend.domain.tokens import TokenService
from backend.errors import Forbidden, NotAuthenticated
from backend.http.limits import BUDGET, FAILED_AUTH, REQUESTS, STATE_KEY, RateLimiter, refuse
from backend.logs import current_request

# Methods that only read: anything else (upload, sign parts, confirm, delete) writes.
READ_METHODS = frozenset({"GET", "HEAD"})


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def require_api_key(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: resolve the API key or access token to its owner, or raise.

    A guard runs before the body is parsed, so callers without a credential learn nothing
    else. The credential's shape decides who checks it: API keys start with `stw_`, an access
    token is a JWT; with no identity provider configured, a JWT fails as an unknown key does.
    A read-only key is refused any method but GET and HEAD, so every write, present or
    future, needs a read-write credential.

    Rate limits: a client address that sent too many missing or wrong credentials is refused
    before any lookup; an owner past their budget (uploads, or every other request) after it.
    """
    limiter: RateLimiter = connection.app.state.rate_limiter
    address = connection.client.host if connection.client else "unknown"
    if limiter.enabled(FAILED_AUTH):
        used_up = await sync_to_thread(limiter.exhausted, FAILED_AUTH, address)
        if used_up is not None:
            connection.state[STATE_KEY] = used_up
            raise refuse(used_up, "requests with a missing or wrong credential")
    try:
        principal = await _identify(connection)
    except NotAuthenticated:
        if limiter.enabled(FAILED_AUTH):
            await sync_to_thread(limiter.hit, FAILED_AUTH, address)
        raise
    connection.state.principal = principal
    connection.state.owner_id = principal.owner_id
    if (request := current_request()) is not None:  # the request's log lines name its owner
        request.owner_id = str(principal.owner_id)
    method = connection.scope.get("method", "")  # no method (a websocket): not a read
    if principal.scope != Scope.READ_WRITE and method not in READ_METHODS:
        raise Forbidden("This API key is read-only: it may list, read and download files only.")
    budget = str(handler.opt.get(BUDGET, REQUESTS))
    if limiter.enabled(budget):
        # Keyed by owner, never by address: behind a load balancer every client shares one.
        verdict = await sync_to_thread(limiter.hit, budget, str(principal.owner_id))
        if verdict is not None:
            connection.state[STATE_KEY] = verdict
            if not verdict.allowed:
                raise refuse(verdict, f"{budget} for this owner")


async def _identify(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """Whoever the bearer credential names (in the thread pool), or NotAuthenticated."""
    presented = bearer_token(connection)
    tokens: TokenService = connection.app.state.services["tokens"]
    if presented is not None and tokens.accepts(presented):
        return Principal(owner_id=await sync_to_thread(tokens.authenticate, presented))
    keys: KeyService = connection.app.state.services["keys"]
    # A key read moments ago is checked right here; only the database trip takes a thread.
    remembered = keys.identify_from_memory(presented)
    if remembered is not None:
        return remembered
    return await sync_to_thread(keys.identify, presented)


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Dependency: who the guard found calling."""
    principal: Principal = request.state.principal
    return principal


def owner_of(request: Request[Any, Any, Any]) -> uuid.UUID:
    """The owner id the guard found.

    Read by the handlers themselves rather than injected: with a service, that would make two
    dependencies, which Litestar resolves in a task group of their own (about 0.1 ms a request).
    """
    owner_id: uuid.UUID = request.state.owner_id
    return owner_id
