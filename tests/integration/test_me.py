"""GET /me: the caller's owner id, figures, limits and credential, as uploads and deletes go."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from backend.domain.keys import KeyService, Scope
from tests.identity_provider import IdentityProvider
from tests.integration.api import Api, announce


def test_me_follows_a_sequence_of_uploads_and_deletes(api_with: Callable[..., Api]) -> None:
    alice = api_with(quota_bytes=100, quota_files=10)
    first = alice.upload(b"hello")  # ready: 5 bytes used
    second = alice.upload(b"0123456789")  # ready: 10 more
    pending = announce(alice, b"abc")  # 3 bytes reserved
    assert alice.request("DELETE", f"/files/{first['file_id']}").status_code == 204
    announce(alice, b"wxyz")  # 4 more reserved
    assert alice.request("DELETE", f"/files/{pending['file_id']}").status_code == 204

    me = alice.request("GET", "/me").json()

    assert me["usage"] == {
        "bytes_used": 10,
        "files_used": 1,
        "bytes_reserved": 4,
        "files_reserved": 1,
    }
    assert me["limits"] == {"max_bytes": 100, "max_files": 10, "bytes_left": 86, "files_left": 8}
    assert me["credential"]["kind"] == "api_key" and me["credential"]["scope"] == "read-write"
    assert second["status"] == "ready"


def test_me_names_the_owner_and_the_keys_scope_label_and_expiry(
    client: TestClient[Litestar], engine: sa.Engine, api: Api
) -> None:
    issued = KeyService(engine).create(
        "alice", scope=Scope.READ, label="dashboard", expires_in=timedelta(days=90)
    )
    me = Api(client, issued.key).request("GET", "/me").json()
    assert me["owner_id"] == api.request("GET", "/me").json()["owner_id"]
    credential = me["credential"]
    assert (credential["scope"], credential["label"], credential["key_id"]) == (
        "read",
        "dashboard",
        issued.key_id,
    )
    assert credential["expires_at"] is not None
    assert me["limits"]["max_bytes"] is None and me["limits"]["bytes_left"] is None


def test_a_user_of_the_identity_provider_sees_their_owner_id_and_read_write(
    token_client: TestClient[Litestar], identity_provider: IdentityProvider
) -> None:
    me = Api(token_client, identity_provider.token("carol")).request("GET", "/me").json()
    assert me["credential"] == {
        "kind": "access_token",
        "scope": "read-write",
        "key_id": None,
        "label": None,
        "expires_at": None,
    }
    assert me["usage"]["files_used"] == 0
