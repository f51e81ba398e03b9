"""Scoped keys: a read-only key only reads, an expired key is refused, last use is recorded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from backend.domain.keys import KeyService, Scope
from backend.errors import InvalidInput
from tests.integration.api import Api, announce, post_form


@pytest.fixture
def reader(client: TestClient[Litestar], engine: sa.Engine) -> Api:
    """Alice's files through a read-only key."""
    return Api(client, KeyService(engine).create("alice", scope=Scope.READ).key)


def test_a_read_only_key_reads_but_every_write_is_forbidden(api: Api, reader: Api) -> None:
    ready = api.upload(b"hello")["file_id"]
    pending = announce(api, b"later")
    multipart = api.request_upload(b"x" * 3, multipart=True).json()["file_id"]

    assert reader.request("GET", "/files").json()["items"][0]["file_id"] == ready
    assert reader.request("GET", f"/files/{ready}").status_code == 200
    assert reader.request("GET", f"/files/{ready}/download").status_code == 200
    assert reader.request("GET", f"/files/{multipart}/parts").status_code == 200

    writes = [
        ("POST", "/files/upload", {"filename": "a.txt", "content_type": "text/plain", "size": 1}),
        ("POST", f"/files/{pending['file_id']}/confirm", None),
        ("POST", f"/files/{multipart}/parts", {"part_numbers": [1], "sha256": {"1": "0" * 64}}),
        ("DELETE", f"/files/{ready}", None),
    ]
    for method, path, body in writes:
        refused = reader.request(method, path, json=body)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), path
    assert api.request("GET", f"/files/{ready}").status_code == 200  # nothing was deleted
    assert post_form(pending["upload"], b"later").status_code == 204
    assert api.request("GET", f"/files/{pending['file_id']}").json()["status"] == "pending"


def test_an_expired_key_is_refused(client: TestClient[Litestar], engine: sa.Engine) -> None:
    keys = KeyService(engine)
    issued = keys.create("alice", expires_in=timedelta(days=1))
    assert Api(client, issued.key).request("GET", "/files").status_code == 200
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE api_keys SET expires_at = now() - interval '1 second'"))

    refused = Api(client, issued.key).request("GET", "/files")

    assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")
    assert "expired" in refused.json()["detail"]


def test_last_use_is_recorded_at_most_once_a_minute(
    client: TestClient[Litestar], engine: sa.Engine
) -> None:
    keys = KeyService(engine)
    issued = keys.create("alice", label="backup job")
    (listed,) = keys.list_all()
    assert listed.last_used_at is None and listed.label == "backup job"

    Api(client, issued.key).request("GET", "/files")
    first = keys.list_all()[0].last_used_at
    Api(client, issued.key).request("GET", "/files")
    assert first is not None and keys.list_all()[0].last_used_at == first

    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE api_keys SET last_used_at = last_used_at - interval '61 seconds'")
        )
    Api(client, issued.key).request("GET", "/files")
    later = keys.list_all()[0].last_used_at
    assert later is not None and later > first - timedelta(seconds=61)


@pytest.mark.parametrize(
    "options",
    [{"label": "x" * 201}, {"label": "tab\there"}, {"expires_in": timedelta(0)}],
)
def test_a_key_with_a_bad_label_or_expiry_is_not_issued(
    engine: sa.Engine, options: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput):
        KeyService(engine).create("alice", **options)


def test_keys_are_read_write_unless_asked(
    make_api: Callable[[str], Api], engine: sa.Engine
) -> None:
    make_api("alice")
    assert [k.scope for k in KeyService(engine).list_all()] == [Scope.READ_WRITE]
