"""Who is calling: the owner behind the bearer key, checked before anything else is parsed."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from backend.domain.keys import KeyService


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def require_api_key(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """Guard: resolve the key to its owner (in the thread pool) or raise NotAuthenticated.

    A guard runs before the body is parsed, so callers without a key learn nothing else.
    """
    keys: KeyService = connection.app.state.services["keys"]
    connection.state.owner_id = await sync_to_thread(keys.authenticate, bearer_token(connection))


def provide_owner_id(request: Request[Any, Any, Any]) -> uuid.UUID:
    """Dependency: the owner id the guard found."""
    owner_id: uuid.UUID = request.state.owner_id
    return owner_id
