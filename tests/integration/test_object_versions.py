"""What stays in the bucket: a form works until it expires, so versions are handled whole."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient
from mypy_boto3_s3 import S3Client

from backend.db import migrate
from backend.local.seaweedfs import ensure_bucket
from backend.settings import Settings
from tests.configuration import replace_settings
from tests.integration.api import Api, post_form


def _versions(s3: S3Client, settings: Settings, key: str) -> list[dict[str, Any]]:
    listing = s3.list_object_versions(Bucket=settings.storage.bucket, Prefix=key)
    return [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]


def test_a_reused_form_cannot_change_what_a_ready_file_downloads(api: Api) -> None:
    # Without a declared sha256 the form accepts any bytes of the right size and type.
    ticket = api.request_upload(b"first").json()
    assert post_form(ticket["upload"], b"first").status_code == 204
    assert api.request("POST", f"/files/{ticket['file_id']}/confirm").status_code == 200
    assert post_form(ticket["upload"], b"EVIL!").status_code == 204  # still within its expiry

    url = api.request("GET", f"/files/{ticket['file_id']}/download").json()["url"]

    assert httpx.get(url).content == b"first"  # the download is pinned to the verified version


def test_delete_destroys_every_version_a_reused_form_left(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    ticket = api.request_upload(b"first").json()
    key = ticket["upload"]["fields"]["key"]
    for body in (b"first", b"again"):
        assert post_form(ticket["upload"], body).status_code == 204
    api.request("POST", f"/files/{ticket['file_id']}/confirm")
    assert len(_versions(s3, settings, key)) == 2

    assert api.request("DELETE", f"/files/{ticket['file_id']}").status_code == 204

    assert _versions(s3, settings, key) == []


def test_rejecting_destroys_every_version_and_delete_leaves_nothing(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    ticket = api.request_upload(b"12345").json()
    key = ticket["upload"]["fields"]["key"]
    s3.put_object(Bucket=settings.storage.bucket, Key=key, Body=b"123456", ContentType="text/plain")
    assert api.request("POST", f"/files/{ticket['file_id']}/confirm").status_code == 422
    assert _versions(s3, settings, key) == []

    assert post_form(ticket["upload"], b"54321").status_code == 204  # form reused after reject
    assert api.request("DELETE", f"/files/{ticket['file_id']}").status_code == 204
    assert _versions(s3, settings, key) == []


def test_deleting_a_pending_file_without_bytes_leaves_no_delete_marker(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    ticket = api.request_upload(b"never sent").json()
    assert api.request("DELETE", f"/files/{ticket['file_id']}").status_code == 204
    assert _versions(s3, settings, ticket["upload"]["fields"]["key"]) == []


def test_rejection_names_each_differing_field_even_with_type_parameters(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    body = b"plain text"
    ticket = api.request_upload(
        body, content_type="text/plain; charset=utf-8", sha256=hashlib.sha256(body).hexdigest()
    ).json()
    s3.put_object(
        Bucket=settings.storage.bucket,
        Key=ticket["upload"]["fields"]["key"],
        Body=b"other text!",
        ContentType="application/pdf",
    )

    problem = api.request("POST", f"/files/{ticket['file_id']}/confirm").json()

    assert problem["mismatches"] == [
        {"field": "size", "declared": f"{len(body)} bytes", "received": "11 bytes"},
        {
            "field": "content_type",
            "declared": "text/plain; charset=utf-8",
            "received": "application/pdf",
        },
        {"field": "sha256", "declared": hashlib.sha256(body).hexdigest(), "received": "none"},
    ]


def test_readiness_refuses_a_bucket_without_versioning(
    s3: S3Client, settings: Settings, make_app: Callable[[Settings], Litestar]
) -> None:
    ensure_bucket(s3, "stowage-unversioned", versioning=False)
    unversioned = replace_settings(settings, s3_bucket="stowage-unversioned")
    with TestClient(make_app(unversioned)) as http:
        response = http.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "versioning" in response.json()["checks"]["storage"]


def test_readiness_refuses_a_database_whose_schema_is_behind(
    engine: sa.Engine, client: TestClient[Litestar]
) -> None:
    assert client.get("/health/ready").status_code == 200
    migrate.downgrade(engine, "base")
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert "db upgrade" in response.json()["checks"]["database"]
