"""What the signature binds, proven against a real S3 server: every violation is refused there.

moto accepts all of these, which is why they run against SeaweedFS.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import httpx
import pytest

from backend.settings import Settings
from tests.integration.api import (
    Api,
    announce,
    assert_never_ready,
    assert_refused_by_s3,
    post_form,
    send_bytes,
)

BODY = b"exactly these bytes"


def _ticket(api: Api, *, sha256: bool = True) -> dict[str, Any]:
    return announce(api, BODY, sha256=sha256)


# Without a declared SHA-256 only the policy's content-length-range stands between a wrong
# size and the bucket; with one, the checksum would refuse the bytes as well.
WITH_AND_WITHOUT_SHA256 = pytest.mark.parametrize(
    "sha256", [False, True], ids=["size-only", "with-sha256"]
)


@WITH_AND_WITHOUT_SHA256
def test_s3_refuses_a_body_larger_than_declared(api: Api, sha256: bool) -> None:
    ticket = _ticket(api, sha256=sha256)
    response = post_form(ticket["upload"], BODY + b"!")
    assert_refused_by_s3(response)
    assert_never_ready(api, str(ticket["file_id"]))


@WITH_AND_WITHOUT_SHA256
def test_s3_refuses_a_body_smaller_than_declared(api: Api, sha256: bool) -> None:
    ticket = _ticket(api, sha256=sha256)
    assert_refused_by_s3(post_form(ticket["upload"], BODY[:-1]))
    assert_never_ready(api, str(ticket["file_id"]))


def test_a_form_without_sha256_takes_exactly_the_declared_size(api: Api) -> None:
    ticket = _ticket(api, sha256=False)
    assert "x-amz-checksum-sha256" not in ticket["upload"]["fields"]
    assert post_form(ticket["upload"], BODY).status_code == 204
    confirmed = api.request("POST", f"/files/{ticket['file_id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["size"] == len(BODY)


def test_s3_refuses_a_changed_key(api: Api) -> None:
    ticket = _ticket(api)
    upload = ticket["upload"]
    key = upload["fields"]["key"]
    response = post_form(upload, BODY, fields={"key": key + "-elsewhere"})
    assert_refused_by_s3(response)
    assert_never_ready(api, str(ticket["file_id"]))


def test_s3_refuses_a_changed_content_type(api: Api) -> None:
    ticket = _ticket(api)
    response = post_form(
        ticket["upload"],
        BODY,
        fields={"Content-Type": "text/html"},
        content_type="text/html",
    )
    assert_refused_by_s3(response)
    assert_never_ready(api, str(ticket["file_id"]))


def test_s3_refuses_bytes_that_do_not_match_the_declared_sha256(api: Api) -> None:
    ticket = _ticket(api)
    same_length_other_bytes = BODY.upper()
    assert_refused_by_s3(post_form(ticket["upload"], same_length_other_bytes))
    assert_never_ready(api, str(ticket["file_id"]))


def test_s3_refuses_a_tampered_signature(api: Api) -> None:
    ticket = _ticket(api)
    signature = ticket["upload"]["fields"]["x-amz-signature"]
    tampered = ("0" if signature[0] != "0" else "1") + signature[1:]
    response = post_form(ticket["upload"], BODY, fields={"x-amz-signature": tampered})
    assert_refused_by_s3(response)
    assert_never_ready(api, str(ticket["file_id"]))


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_s3_refuses_an_expired_upload(api_with: Callable[..., Api], method: str) -> None:
    api = api_with(upload_url_ttl_seconds=1)
    ticket = announce(api, BODY, method=method)
    time.sleep(2.5)
    assert_refused_by_s3(send_bytes(ticket["upload"], BODY))
    confirmed = api.request("POST", f"/files/{ticket['file_id']}/confirm")
    assert confirmed.status_code == 409
    assert "expired" in confirmed.json()["detail"]


def test_s3_refuses_a_tampered_download_url(api: Api) -> None:
    file = api.upload(BODY)
    url = api.request("GET", f"/files/{file['file_id']}/download").json()["url"]
    assert httpx.get(url).status_code == 200
    parts = urlparse(url)
    query = parse_qs(parts.query)
    query["response-content-type"] = ["text/html"]
    tampered = urlunparse(parts._replace(query=urlencode(query, doseq=True)))
    assert httpx.get(tampered).status_code == 403


def test_s3_refuses_an_expired_download_url(api_with: Callable[..., Api]) -> None:
    api = api_with(download_url_ttl_seconds=1)
    file = api.upload(BODY)
    url = api.request("GET", f"/files/{file['file_id']}/download").json()["url"]
    time.sleep(2.5)
    assert httpx.get(url).status_code == 403


def test_s3_refuses_anonymous_reads(api: Api, settings: Settings) -> None:
    file = api.upload(BODY)
    url = api.request("GET", f"/files/{file['file_id']}/download").json()["url"]
    parts = urlparse(url)
    anonymous = urlunparse(parts._replace(query=""))
    assert httpx.get(anonymous).status_code == 403


def test_every_returned_field_is_pinned_to_its_exact_value(api: Api) -> None:
    fields = _ticket(api)["upload"]["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    pinned = {
        name.lower(): value
        for condition in policy["conditions"]
        if isinstance(condition, dict)
        for name, value in condition.items()
    }
    signed = {
        name: value for name, value in fields.items() if name not in {"policy", "x-amz-signature"}
    }
    assert {name.lower(): value for name, value in signed.items()}.items() <= pinned.items()
    assert {"content-type", "key", "x-amz-checksum-sha256"} <= pinned.keys()
    assert ["content-length-range", len(BODY), len(BODY)] in policy["conditions"]
