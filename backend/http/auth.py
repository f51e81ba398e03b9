"""Who is calling: the owner behind the bearer API key or access token, checked first."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from backend.domain.keys import KeyService
from backend.domain.tokens import TokenService
from backend.logs import current_request


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def require_api_key(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """Guard: resolve the API key or access token to its owner, or raise.

    A guard runs before the body is parsed, so callers without a credential learn nothing
    else. The credential's shape decides who checks it: API keys start with `stw_`, an access
    token is a JWT; with no identity provider configured, a JWT fails as an unknown key does.
    """
    presented = bearer_token(connection)
    owner_id: uuid.UUID | None
    tokens: TokenService = connection.app.state.services["tokens"]
    if presented is not None and tokens.accepts(presented):
        owner_id = await sync_to_thread(tokens.authenticate, presented)
    else:
        keys: KeyService = connection.app.state.services["keys"]
        # A key read moments ago is checked right here; only the database trip takes a thread.
        owner_id = keys.authenticate_from_memory(presented)
        if owner_id is None:
            owner_id = await sync_to_thread(keys.authenticate, presented)
    connection.state.owner_id = owner_id
    if (request := current_request()) is not None:  # the request's log lines name its owner
        request.owner_id = str(owner_id)


def provide_owner_id(request: Request[Any, Any, Any]) -> uuid.UUID:
    """Dependency: the owner id the guard found."""
    owner_id: uuid.UUID = request.state.owner_id
    return owner_id
