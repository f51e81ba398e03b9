"""Reconcile finds every kind of difference between bucket and table, streams both, and repairs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from mypy_boto3_s3 import S3Client

from backend.domain.reconcile import Finding
from backend.resources import Resources
from backend.settings import Settings
from backend.storage import VersionPage
from tests.integration.api import Api, announce, post_form
from tests.integration.sweeping import (
    expire_form,
    reconciler,
    row,
    sweeper,
    update,
    versions,
)


@pytest.fixture
def resources(make_resources: Callable[..., Resources]) -> Resources:
    """The engine and bucket reconcile compares, with the default grace (an hour)."""
    return make_resources()


def reconcile(resources: Resources, *, fix: bool = False) -> tuple[list[Finding], Any]:
    findings: list[Finding] = []
    totals = reconciler(resources).run(fix=fix, report=findings.append)
    return findings, totals


def test_a_bucket_and_table_that_agree_are_clean(api: Api, resources: Resources) -> None:
    api.upload(b"one")
    api.upload(b"two")
    announce(api, b"pending, never sent")

    findings, totals = reconcile(resources)

    assert findings == []
    assert totals.clean and (totals.objects, totals.rows) == (2, 3)


def test_an_object_without_a_file_is_an_orphan_deleted_once_old_enough(
    api: Api,
    make_resources: Callable[..., Resources],
    s3: S3Client,
    settings: Settings,
) -> None:
    key = f"{settings.storage.key_prefix}nobody/stray"
    s3.put_object(Bucket=settings.storage.bucket, Key=key, Body=b"stray")

    findings, totals = reconcile(make_resources(), fix=True)

    assert [(f.kind, f.key, f.fixed) for f in findings] == [("orphan", key, False)]
    assert "kept" in findings[0].outcome and not totals.clean
    time.sleep(3.2)  # object timestamps cannot be moved back, so let it age

    findings, totals = reconcile(
        make_resources(sweep_grace_seconds=1, upload_url_ttl_seconds=1), fix=True
    )

    assert [(f.kind, f.fixed) for f in findings] == [("orphan", True)]
    assert totals.clean
    assert versions(s3, settings.storage.bucket, key) == []


def test_a_ready_file_whose_object_is_gone_is_found_and_marked_rejected(
    api: Api, engine: sa.Engine, resources: Resources, s3: S3Client, settings: Settings
) -> None:
    file_id = api.upload(b"lost")["file_id"]
    key = row(engine, file_id).object_key
    for version in versions(s3, settings.storage.bucket, key):
        s3.delete_object(Bucket=settings.storage.bucket, Key=key, VersionId=version)

    findings, totals = reconcile(resources)

    assert [(f.kind, f.key) for f in findings] == [("missing object", key)]
    assert not totals.clean
    assert row(engine, file_id).status == "ready"  # reported, not touched

    findings, totals = reconcile(resources, fix=True)

    assert totals.clean and findings[0].fixed
    stored = row(engine, file_id)
    assert stored.status == "rejected"
    assert stored.mismatches == [{"field": "object", "declared": "present", "received": "missing"}]
    assert api.request("GET", f"/files/{file_id}/download").status_code == 409
    findings, totals = reconcile(resources)
    assert findings == [] and totals.clean


def test_a_ready_file_whose_verified_version_is_gone_is_marked_and_later_bytes_swept(
    api: Api, engine: sa.Engine, resources: Resources, s3: S3Client, settings: Settings
) -> None:
    ticket = announce(api, b"verified", sha256=False)
    assert post_form(ticket["upload"], b"verified").status_code == 204
    assert api.request("POST", f"/files/{ticket['file_id']}/confirm").status_code == 200
    time.sleep(1.1)  # S3 orders versions by their second-precision timestamps
    assert post_form(ticket["upload"], b"unproven").status_code == 204
    bucket, key = settings.storage.bucket, ticket["upload"]["fields"]["key"]
    verified = row(engine, ticket["file_id"]).version_id
    s3.delete_object(Bucket=bucket, Key=key, VersionId=verified)

    findings, totals = reconcile(resources, fix=True)

    assert [(f.kind, f.fixed) for f in findings] == [("missing version", True)]
    assert row(engine, ticket["file_id"]).status == "rejected" and totals.clean
    expire_form(engine, ticket["file_id"])

    assert sweeper(resources).sweep().bytes_discarded == 1
    assert versions(s3, bucket, key) == []


def test_a_size_difference_is_found_and_marked(
    api: Api, engine: sa.Engine, resources: Resources
) -> None:
    file_id = api.upload(b"twelve bytes")["file_id"]
    update(engine, file_id, size=99)

    findings, totals = reconcile(resources, fix=True)

    assert [(f.kind, f.fixed) for f in findings] == [("size differs", True)]
    assert "declared 99 bytes, received 12 bytes" in str(findings[0])
    assert row(engine, file_id).status == "rejected" and totals.clean


def test_bytes_left_under_a_settled_rejected_file_are_found_and_deleted(
    api: Api, engine: sa.Engine, resources: Resources, s3: S3Client, settings: Settings
) -> None:
    ticket = announce(api, b"never")
    key = ticket["upload"]["fields"]["key"]
    update(
        engine,
        ticket["file_id"],
        status="expired",
        settled_at=row(engine, ticket["file_id"]).created_at,
    )
    s3.put_object(Bucket=settings.storage.bucket, Key=key, Body=b"late")

    findings, totals = reconcile(resources, fix=True)

    assert [(f.kind, f.fixed) for f in findings] == [("leftover bytes", True)]
    assert versions(s3, settings.storage.bucket, key) == [] and totals.clean


def test_reconcile_reads_the_bucket_a_page_at_a_time(
    api: Api, make_resources: Callable[..., Resources], s3: S3Client, settings: Settings
) -> None:
    for number in range(6):
        api.upload(f"file {number}".encode())
    first = f"{settings.storage.key_prefix}0-stray"  # sorts before every owner's keys
    s3.put_object(Bucket=settings.storage.bucket, Key=first, Body=b"stray")
    resources = make_resources(sweep_page_size=2)
    pages: list[int] = []
    list_versions = resources.storage.list_versions

    def counted(prefix: str, **kwargs: Any) -> VersionPage:
        page = list_versions(prefix, **kwargs)
        if prefix == settings.storage.key_prefix:
            pages.append(len(page.versions))
        return page

    resources.storage.list_versions = counted  # type: ignore[method-assign]
    seen_at: list[int] = []

    totals = reconciler(resources).run(fix=False, report=lambda _f: seen_at.append(len(pages)))

    assert totals.objects == 7 and totals.rows == 6
    assert max(pages) <= 2 and len(pages) >= 4
    # The first finding was reported while most of the bucket was still unread.
    assert len(seen_at) == 1 and seen_at[0] <= 2 < len(pages)
