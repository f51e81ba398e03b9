"""An Idempotency-Key makes announcing safe to retry: one file per key and request, for a day."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from backend.db.tables import utcnow
from backend.resources import Resources
from tests.integration.api import Api, post_form
from tests.integration.parts_api import announce_multipart
from tests.integration.sweeping import sweeper

BODY = b"retried after a lost answer"
REQUEST = {"filename": "retry.txt", "content_type": "text/plain", "size": len(BODY)}


def announce(api: Api, key: str, **changes: Any) -> httpx.Response:
    return api.request(
        "POST", "/files/upload", json={**REQUEST, **changes}, headers={"Idempotency-Key": key}
    )


def pending(api: Api) -> list[str]:
    return [f["file_id"] for f in api.request("GET", "/files?status=pending").json()["items"]]


def test_a_retry_gets_the_same_file_and_a_fresh_form_that_works(api: Api) -> None:
    first = announce(api, "k-1")
    retry = announce(api, "k-1")

    assert first.status_code == retry.status_code == 201
    assert retry.json()["file_id"] == first.json()["file_id"]
    assert pending(api) == [first.json()["file_id"]]
    assert post_form(retry.json()["upload"], BODY).status_code == 204
    confirmed = api.request("POST", f"/files/{first.json()['file_id']}/confirm")
    assert confirmed.json()["status"] == "ready"


def test_the_same_key_with_another_request_is_refused(api: Api) -> None:
    first = announce(api, "k-2")
    other = announce(api, "k-2", filename="other.txt")

    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert pending(api) == [first.json()["file_id"]]


def test_keys_belong_to_their_owner(make_api: Callable[[str], Api]) -> None:
    alice, bob = make_api("alice"), make_api("bob")

    mine, theirs = announce(alice, "shared-key"), announce(bob, "shared-key")

    assert mine.json()["file_id"] != theirs.json()["file_id"]
    assert pending(alice) == [mine.json()["file_id"]]
    assert pending(bob) == [theirs.json()["file_id"]]


def test_concurrent_retries_make_one_file(api: Api) -> None:
    with ThreadPoolExecutor(4) as clients:
        answers = list(clients.map(lambda _: announce(api, "k-race"), range(4)))

    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["file_id"] for answer in answers}) == 1
    assert len(pending(api)) == 1


def test_a_key_whose_upload_is_over_says_so(api: Api) -> None:
    ticket = announce(api, "k-3").json()
    assert post_form(ticket["upload"], BODY).status_code == 204
    assert api.request("POST", f"/files/{ticket['file_id']}/confirm").status_code == 200

    again = announce(api, "k-3")

    assert (again.status_code, again.json()["code"]) == (409, "idempotency_key_used")


def test_a_key_older_than_a_day_starts_a_new_upload_and_the_sweeper_forgets_it(
    api: Api, engine: sa.Engine, make_resources: Callable[..., Resources]
) -> None:
    first = announce(api, "k-4").json()
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE idempotency_keys SET created_at = :then"),
            {"then": utcnow() - timedelta(days=1, minutes=1)},
        )

    later = announce(api, "k-4").json()

    assert later["file_id"] != first["file_id"]
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE idempotency_keys SET created_at = :then"),
            {"then": utcnow() - timedelta(days=2)},
        )
    assert sweeper(make_resources()).sweep().idempotency_keys_forgotten == 1


def test_a_multipart_retry_gets_the_same_plan(api: Api) -> None:
    first = announce_multipart(api, 9 * 1024 * 1024)
    payload = {"filename": "big.bin", "content_type": "application/octet-stream",
               "size": 9 * 1024 * 1024, "multipart": True}  # fmt: skip
    key = {"Idempotency-Key": f"mp-{uuid.uuid4()}"}
    made = api.request("POST", "/files/upload", json=payload, headers=key).json()
    again = api.request("POST", "/files/upload", json=payload, headers=key).json()

    assert again["file_id"] == made["file_id"] != first["file_id"]
    assert again["multipart"] == made["multipart"]


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "caf\u00e9"])
def test_a_malformed_key_is_invalid_input(api: Api, key: str) -> None:
    headers = {**api.headers, "Idempotency-Key": key.encode()}
    answer = api.http.post("/files/upload", json=REQUEST, headers=headers)

    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_input")
    assert answer.json()["errors"][0]["field"] == "Idempotency-Key"
    assert pending(api) == []
