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
from backend.errors import Forbidden
from backend.logs import current_request

# Methods that only read: anything else (upload, sign parts, confirm, delete) writes.
READ_METHODS = frozenset({"GET", "HEAD"})


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def require_api_key(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """Guard: resolve the API key or access token to its owner (in the thread pool), or raise.

    A guard runs before the body is parsed, so callers without a credential learn nothing
    else. The credential's shape decides who checks it: API keys start with `stw_`, an access
    token is a JWT; with no identity provider configured, a JWT fails as an unknown key does.
    A read-only key is refused any method but GET and HEAD, so every write, present or
    future, needs a read-write credential.
    """
    presented = bearer_token(connection)
    tokens: TokenService = connection.app.state.services["tokens"]
    if presented is not None and tokens.accepts(presented):
        principal = Principal(owner_id=await sync_to_thread(tokens.authenticate, presented))
    else:
        keys: KeyService = connection.app.state.services["keys"]
        principal = await sync_to_thread(keys.identify, presented)
    connection.state.principal = principal
    connection.state.owner_id = principal.owner_id
    if (request := current_request()) is not None:  # the request's log lines name its owner
        request.owner_id = str(principal.owner_id)
    method = connection.scope.get("method", "")  # no method (a websocket): not a read
    if principal.scope != Scope.READ_WRITE and method not in READ_METHODS:
        raise Forbidden("This API key is read-only: it may list, read and download files only.")


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Dependency: who the guard found calling."""
    principal: Principal = request.state.principal
    return principal


def provide_owner_id(request: Request[Any, Any, Any]) -> uuid.UUID:
    """Dependency: the owner id the guard found."""
    owner_id: uuid.UUID = request.state.owner_id
    return owner_id
