"""Owners are isolated: another owner's file id behaves exactly like an id that does not exist."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from tests.integration.api import Api, post_form

ENDPOINTS = [
    ("GET", "/files/{id}"),
    ("POST", "/files/{id}/confirm"),
    ("GET", "/files/{id}/download"),
    ("GET", "/files/{id}/download?redirect=true"),
    ("DELETE", "/files/{id}"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_another_owners_file_is_indistinguishable_from_an_unknown_one(
    make_api: Callable[[str], Api], method: str, path: str
) -> None:
    alice, bob = make_api("alice"), make_api("bob")
    file = alice.upload(b"alice's secret")

    # The same request id for both, so that the whole answers can be compared.
    same = {"X-Request-ID": "isolation-probe"}
    theirs = bob.request(method, path.format(id=file["file_id"]), headers=same)
    unknown = bob.request(method, path.format(id=uuid.uuid4()), headers=same)

    assert theirs.status_code == unknown.status_code == 404
    # Every answer carries its own request id; apart from it, the two are the same.
    assert {**theirs.json(), "request_id": None} == {**unknown.json(), "request_id": None}
    assert theirs.headers["content-type"] == unknown.headers["content-type"]
    # And nothing bob did changed alice's file.
    assert alice.request("GET", f"/files/{file['file_id']}").json() == file


def test_another_owners_pending_file_cannot_be_confirmed(make_api: Callable[[str], Api]) -> None:
    alice, bob = make_api("alice"), make_api("bob")
    ticket = alice.request_upload(b"mine").json()
    assert post_form(ticket["upload"], b"mine").status_code == 204
    assert bob.request("POST", f"/files/{ticket['file_id']}/confirm").status_code == 404
    assert alice.request("GET", f"/files/{ticket['file_id']}").json()["status"] == "pending"


def test_listings_show_only_the_callers_files(make_api: Callable[[str], Api]) -> None:
    alice, bob = make_api("alice"), make_api("bob")
    alice_file = alice.upload(b"a", filename="shared-name.txt")
    bob_file = bob.upload(b"b", filename="shared-name.txt")

    for api, own in ((alice, alice_file), (bob, bob_file)):
        for params in ({}, {"q": "shared"}, {"status": "ready"}):
            items = api.request("GET", "/files", params=params).json()["items"]
            assert [item["file_id"] for item in items] == [own["file_id"]]


def test_object_keys_are_namespaced_by_owner_and_never_use_the_filename(
    make_api: Callable[[str], Api],
) -> None:
    alice, bob = make_api("alice"), make_api("bob")
    a = alice.request_upload(b"x", filename="../../etc/passwd.txt")
    assert a.status_code == 422  # slashes are refused outright
    a_key = alice.request_upload(b"x", filename="report.txt").json()["upload"]["fields"]["key"]
    b_key = bob.request_upload(b"x", filename="report.txt").json()["upload"]["fields"]["key"]
    assert "report" not in a_key and "report" not in b_key
    assert a_key.rsplit("/", 2)[-2] != b_key.rsplit("/", 2)[-2]
