"""Quotas hold: reserved at announcement, exact under concurrency, given back on every way out."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from backend.db.tables import Owner
from backend.domain.quotas import Quota, QuotaService
from backend.domain.reconcile import USAGE_DIFFERS, Finding
from backend.domain.uploads import UploadService
from backend.errors import QuotaExceeded
from backend.resources import Resources
from backend.settings import LimitsSettings, Settings
from tests.integration.api import Api, announce, post_form
from tests.integration.sweeping import expire_form, reconciler, sweeper


def owner_id(engine: sa.Engine, name: str = "alice") -> uuid.UUID:
    """The id of the owner with this name."""
    with engine.connect() as connection:
        found = connection.execute(sa.select(Owner.id).where(Owner.name == name)).scalar_one()
    return uuid.UUID(str(found))


# What `small` allows.
SMALL = LimitsSettings(quota_bytes=10, quota_files=3)


def quota(engine: sa.Engine, name: str = "alice") -> Quota:
    """The owner's figures as the service reads them, under `small`'s defaults."""
    return QuotaService(engine, SMALL).show(owner_id(engine, name))


@pytest.fixture
def small(api_with: Callable[..., Api]) -> Api:
    """Alice, allowed 10 bytes and 3 files."""
    return api_with(quota_bytes=10, quota_files=3)


def test_an_announcement_over_the_quota_is_refused_saying_what_is_left(
    small: Api, engine: sa.Engine, settings: Settings
) -> None:
    announce(small, b"1234567")

    refused = small.request_upload(b"abcd")

    assert refused.status_code == 413
    problem = refused.json()
    assert (problem["code"], problem["bytes_left"], problem["files_left"]) == (
        "quota_exceeded",
        3,
        2,
    )
    assert "3 bytes" in problem["detail"]
    assert small.request_upload(b"abc").status_code == 201  # exactly what is left fits


def test_the_file_count_is_a_quota_too(small: Api) -> None:
    for _ in range(3):
        announce(small, b"a")
    refused = small.request_upload(b"b")
    assert (refused.status_code, refused.json()["files_left"]) == (413, 0)


def announce_at_once(uploads: UploadService, owner: uuid.UUID, count: int, size: int) -> list[bool]:
    """`count` threads announce a file of `size` bytes at the same moment: which were accepted."""
    start = threading.Barrier(count)
    outcomes: list[bool] = []

    def announce_one() -> None:
        start.wait()
        try:
            uploads.request_upload(
                owner, filename="a.txt", content_type="text/plain", size=size, sha256=None
            )
            outcomes.append(True)
        except QuotaExceeded:
            outcomes.append(False)

    threads = [threading.Thread(target=announce_one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_parallel_announcements_never_overshoot_the_quota(
    make_resources: Callable[..., Resources], make_key: Callable[[str], str], engine: sa.Engine
) -> None:
    make_key("alice")
    resources = make_resources(quota_bytes=10)
    uploads = UploadService(resources.engine, resources.storage, resources.settings)
    owner = owner_id(engine)

    outcomes = announce_at_once(uploads, owner, count=16, size=3)

    assert outcomes.count(True) == 3
    figures = QuotaService(engine, resources.settings.limits).show(owner)
    assert (figures.bytes_reserved, figures.files_reserved) == (9, 3)


def test_two_parallel_uploads_that_together_exceed_the_quota_one_succeeds(
    make_resources: Callable[..., Resources], make_key: Callable[[str], str], engine: sa.Engine
) -> None:
    make_key("alice")
    resources = make_resources(quota_bytes=10)
    uploads = UploadService(resources.engine, resources.storage, resources.settings)

    outcomes = announce_at_once(uploads, owner_id(engine), count=2, size=6)

    assert sorted(outcomes) == [False, True]


def test_confirm_turns_the_reservation_into_usage(
    small: Api, engine: sa.Engine, settings: Settings
) -> None:
    ticket = announce(small, b"hello")
    assert (quota(engine).bytes_reserved, quota(engine).bytes_used) == (5, 0)
    assert post_form(ticket["upload"], b"hello").status_code == 204
    assert small.request("POST", f"/files/{ticket['file_id']}/confirm").status_code == 200
    figures = quota(engine)
    assert (figures.bytes_reserved, figures.files_reserved) == (0, 0)
    assert (figures.bytes_used, figures.files_used) == (5, 1)


def test_a_rejection_releases_the_reservation(
    small: Api, engine: sa.Engine, settings: Settings, s3: Any
) -> None:
    ticket = announce(small, b"0123456789")
    key = ticket["upload"]["fields"]["key"]
    s3.put_object(Bucket=settings.storage.bucket, Key=key, Body=b"9876543210",
                  ContentType="text/plain")  # fmt: skip
    assert small.request_upload(b"x").status_code == 413

    rejected = small.request("POST", f"/files/{ticket['file_id']}/confirm")

    assert rejected.json()["code"] == "upload_rejected"
    assert quota(engine).bytes_reserved == 0
    assert small.request_upload(b"0123456789").status_code == 201


def test_an_expired_upload_gives_its_reservation_back(
    small: Api, engine: sa.Engine, settings: Settings, make_resources: Callable[..., Resources]
) -> None:
    ticket = announce(small, b"0123456789")
    expire_form(engine, ticket["file_id"])

    report = sweeper(make_resources()).sweep()

    assert report.expired == 1
    figures = quota(engine)
    assert (figures.bytes_reserved, figures.files_reserved) == (0, 0)


def test_deleting_a_pending_or_a_ready_file_gives_its_bytes_back(
    small: Api, engine: sa.Engine, settings: Settings
) -> None:
    pending = announce(small, b"0123")
    ready = small.upload(b"456789")
    assert quota(engine).bytes_left == 0

    assert small.request("DELETE", f"/files/{pending['file_id']}").status_code == 204
    assert small.request("DELETE", f"/files/{ready['file_id']}").status_code == 204

    figures = quota(engine)
    assert (figures.bytes_used, figures.files_used, figures.bytes_reserved) == (0, 0, 0)
    assert figures.bytes_left == 10


def test_a_refused_multipart_announcement_leaves_no_upload_in_s3(
    api_with: Callable[..., Api], s3: Any, settings: Settings, engine: sa.Engine
) -> None:
    small = api_with(quota_bytes=10)
    refused = small.request_upload(b"x" * 11, multipart=True)
    assert (refused.status_code, refused.json()["code"]) == (413, "quota_exceeded")
    listed = s3.list_multipart_uploads(
        Bucket=settings.storage.bucket, Prefix=settings.storage.key_prefix
    )
    assert listed.get("Uploads", []) == []


def test_an_owner_override_replaces_the_default(
    small: Api, engine: sa.Engine, settings: Settings
) -> None:
    QuotaService(engine, SMALL).set_limits(owner_id(engine), bytes_limit=100)
    assert small.request_upload(b"x" * 50).status_code == 201
    assert quota(engine).bytes_limit == 100


def test_a_multipart_reservation_counts_its_whole_size(
    api_with: Callable[..., Api], engine: sa.Engine, settings: Settings
) -> None:
    small = api_with(quota_bytes=10)
    assert small.request_upload(b"x" * 9, multipart=True).status_code == 201
    assert quota(engine).bytes_reserved == 9


def test_reconcile_finds_counters_that_drifted_from_the_files_and_fixes_them(
    small: Api, engine: sa.Engine, make_resources: Callable[..., Resources]
) -> None:
    small.upload(b"hello")
    announce(small, b"abc")
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE owner_usage SET bytes_used = 7, files_reserved = 0"))
    findings: list[Finding] = []

    report = reconciler(make_resources()).run(fix=False, report=findings.append)
    assert [f.kind for f in findings] == [USAGE_DIFFERS]
    assert "files hold 5 bytes in 1 file(s) used, 3 bytes in 1 file(s) reserved" in str(findings[0])
    assert not report.clean

    fixed = reconciler(make_resources()).run(fix=True, report=lambda _f: None)
    assert fixed.clean and fixed.fixed == 1
    figures = quota(engine)
    assert (figures.bytes_used, figures.files_reserved) == (5, 1)
    assert reconciler(make_resources()).run(fix=False, report=lambda _f: None).differences == 0
