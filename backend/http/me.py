"""GET /me: who the caller is, what their files hold, what they may hold, and their key's scope."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency, Provide

from backend.domain.keys import Principal
from backend.domain.quotas import Quota, QuotaService
from backend.http.auth import provide_principal, require_api_key
from backend.http.openapi import KEY_GUARD, documented


class Usage(msgspec.Struct, kw_only=True):
    """What the owner's files hold: ready files are used, pending uploads reserved."""

    bytes_used: int
    files_used: int
    bytes_reserved: int
    files_reserved: int


class Limits(msgspec.Struct, kw_only=True):
    """What the owner may hold (null: unlimited) and what is left of it."""

    max_bytes: int | None
    max_files: int | None
    bytes_left: int | None
    files_left: int | None


class Credential(msgspec.Struct, kw_only=True):
    """The credential this request came with."""

    kind: Annotated[
        Literal["api_key", "access_token"],
        msgspec.Meta(description="An API key, or an identity provider's access token"),
    ]
    scope: Annotated[
        Literal["read", "read-write"],
        msgspec.Meta(description="read: list, read and download only; read-write: all"),
    ]
    key_id: Annotated[str | None, msgspec.Meta(description="API keys: the public key id")] = None
    label: Annotated[str | None, msgspec.Meta(description="API keys: the key's label")] = None
    expires_at: Annotated[
        datetime | None, msgspec.Meta(description="API keys: when the key stops working")
    ] = None


class Me(msgspec.Struct, kw_only=True):
    """The caller: their owner id, usage, limits and credential."""

    owner_id: str
    usage: Usage
    limits: Limits
    credential: Credential


def me_out(principal: Principal, quota: Quota) -> Me:
    """The wire form of who is calling and their figures."""
    return Me(
        owner_id=str(principal.owner_id),
        usage=Usage(
            bytes_used=quota.bytes_used,
            files_used=quota.files_used,
            bytes_reserved=quota.bytes_reserved,
            files_reserved=quota.files_reserved,
        ),
        limits=Limits(
            max_bytes=quota.bytes_limit,
            max_files=quota.files_limit,
            bytes_left=quota.bytes_left,
            files_left=quota.files_left,
        ),
        credential=Credential(
            kind="api_key" if principal.key_id is not None else "access_token",
            scope="read" if principal.scope == "read" else "read-write",
            key_id=principal.key_id,
            label=principal.label,
            expires_at=principal.expires_at,
        ),
    )


class MeController(Controller):
    """The caller's own account."""

    path = "/me"
    tags = ["account"]
    guards = [require_api_key]
    cache_control = CacheControlHeader(no_store=True)
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}
    security = [{"apiKey": []}]

    @get("/", sync_to_thread=True, operation_id="getMe", **documented(*KEY_GUARD))
    def me(
        self, principal: NamedDependency[Principal], quotas: NamedDependency[QuotaService]
    ) -> Me:
        """Who the caller is: owner id, usage, reservations, limits, and the key's scope."""
        return me_out(principal, quotas.show(principal.owner_id))
