"""Presigned PUT for native apps, proven on a real S3 server: the same promises as the form."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.integration.api import (
    Api,
    announce,
    assert_never_ready,
    assert_refused_by_s3,
    put_body,
)

BODY = b"bytes sent as the request body"


def _ticket(api: Api, *, sha256: bool = True) -> dict[str, Any]:
    return announce(api, BODY, sha256=sha256, method="PUT")


def test_a_put_upload_is_confirmed_and_downloads_the_same_bytes(api: Api) -> None:
    ticket = _ticket(api)
    upload = ticket["upload"]
    assert upload["method"] == "PUT"
    assert "fields" not in upload
    assert upload["headers"]["Content-Type"] == "text/plain"
    assert upload["headers"]["Content-Length"] == str(len(BODY))
    signed = parse_qs(urlparse(upload["url"]).query)["X-Amz-SignedHeaders"][0].split(";")
    # Every header the client is told to send is covered by the signature.
    assert {name.lower() for name in upload["headers"]} <= set(signed)

    assert put_body(upload, BODY).status_code == 200
    confirmed = api.request("POST", f"/files/{ticket['file_id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["sha256"] == hashlib.sha256(BODY).hexdigest()
    url = api.request("GET", f"/files/{ticket['file_id']}/download").json()["url"]
    assert httpx.get(url).content == BODY


def test_both_methods_give_the_same_file(api: Api) -> None:
    by_form = api.upload(BODY, filename="same.txt")
    by_put = api.upload(BODY, filename="same.txt", method="PUT")
    ignore = {"file_id", "created_at", "confirmed_at"}
    assert {k: v for k, v in by_form.items() if k not in ignore} == {
        k: v for k, v in by_put.items() if k not in ignore
    }


WITH_AND_WITHOUT_SHA256 = pytest.mark.parametrize(
    "sha256", [False, True], ids=["size-only", "with-sha256"]
)


@WITH_AND_WITHOUT_SHA256
def test_s3_refuses_a_put_larger_than_declared(api: Api, sha256: bool) -> None:
    ticket = _ticket(api, sha256=sha256)
    assert_refused_by_s3(put_body(ticket["upload"], BODY + b"!"))
    assert_never_ready(api, ticket["file_id"])


@WITH_AND_WITHOUT_SHA256
def test_s3_refuses_a_put_smaller_than_declared(api: Api, sha256: bool) -> None:
    ticket = _ticket(api, sha256=sha256)
    assert_refused_by_s3(put_body(ticket["upload"], BODY[:-1]))
    assert_never_ready(api, ticket["file_id"])


def test_s3_refuses_a_put_with_another_content_type(api: Api) -> None:
    ticket = _ticket(api)
    assert_refused_by_s3(put_body(ticket["upload"], BODY, headers={"Content-Type": "text/html"}))
    assert_never_ready(api, ticket["file_id"])


def test_s3_refuses_other_bytes_than_the_declared_sha256(api: Api) -> None:
    ticket = _ticket(api)
    assert_refused_by_s3(put_body(ticket["upload"], BODY.upper()))
    assert_never_ready(api, ticket["file_id"])


def test_s3_refuses_a_put_that_leaves_out_the_signed_checksum(api: Api) -> None:
    ticket = _ticket(api)
    upload = {**ticket["upload"], "headers": dict(ticket["upload"]["headers"])}
    del upload["headers"]["x-amz-checksum-sha256"]
    assert_refused_by_s3(put_body(upload, BODY))
    assert_never_ready(api, ticket["file_id"])


def test_s3_refuses_a_put_to_another_key(api: Api) -> None:
    ticket = _ticket(api)
    parts = urlparse(ticket["upload"]["url"])
    elsewhere = {**ticket["upload"], "url": parts._replace(path=parts.path + "-x").geturl()}
    assert_refused_by_s3(put_body(elsewhere, BODY))
    assert_never_ready(api, ticket["file_id"])


def test_an_unknown_method_is_invalid_input(api: Api) -> None:
    response = api.request_upload(BODY, method="PATCH")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "method"
