"""The sweeper finishes what uploads and deletes left half-done, once, on the real stack."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from mypy_boto3_s3 import S3Client

from backend.db.tables import utcnow
from backend.domain.files import FileService
from backend.domain.uploads import UploadService
from backend.errors import StorageUnavailable
from backend.resources import Resources
from backend.settings import Settings
from tests.integration.api import Api, announce, post_form
from tests.integration.parts_api import PART, MiB, announce_multipart, s3_uploads, send
from tests.integration.sweeping import (
    current_bytes,
    expire_form,
    row,
    sweeper,
    update,
    versions,
)


@pytest.fixture
def resources(make_resources: Callable[..., Resources]) -> Resources:
    """The engine and bucket a sweeper works on, with the default grace (an hour)."""
    return make_resources()


def test_an_upload_whose_form_expired_with_nothing_sent_becomes_expired(
    api: Api, engine: sa.Engine, resources: Resources, s3: S3Client, settings: Settings
) -> None:
    ticket = announce(api, b"never sent")
    expire_form(engine, ticket["file_id"])

    report = sweeper(resources).sweep()

    assert (report.expired, report.bytes_discarded) == (1, 1)
    stored = row(engine, ticket["file_id"])
    assert stored.status == "expired" and stored.settled_at is not None
    key = ticket["upload"]["fields"]["key"]
    assert versions(s3, settings.storage.bucket, key) == []
    confirmed = api.request("POST", f"/files/{ticket['file_id']}/confirm")
    assert (confirmed.status_code, confirmed.json()["code"]) == (409, "upload_expired")
    for status in ("pending", "ready", "rejected"):
        assert api.request("GET", f"/files?status={status}").json()["items"] == []


def test_an_upload_still_within_the_grace_is_left_pending(
    api: Api, engine: sa.Engine, resources: Resources
) -> None:
    # The form expired a minute ago: a large upload could still be streaming.
    ticket = announce(api, b"still coming")
    expire_form(engine, ticket["file_id"], ago=timedelta(minutes=1))

    report = sweeper(resources).sweep()

    assert report.total == 0
    assert row(engine, ticket["file_id"]).status == "pending"


def test_an_expired_upload_whose_bytes_arrived_is_confirmed_for_the_client(
    api: Api, engine: sa.Engine, resources: Resources
) -> None:
    ticket = announce(api, b"sent, then the client crashed")
    assert post_form(ticket["upload"], b"sent, then the client crashed").status_code == 204
    expire_form(engine, ticket["file_id"])

    report = sweeper(resources).sweep()

    assert (report.confirmed, report.ready_settled) == (1, 1)
    file = api.request("GET", f"/files/{ticket['file_id']}").json()
    assert file["status"] == "ready"
    assert api.request("GET", f"/files/{ticket['file_id']}/download").status_code == 200


def test_an_expired_upload_with_differing_bytes_is_rejected_and_its_bytes_destroyed(
    api: Api, engine: sa.Engine, resources: Resources, s3: S3Client, settings: Settings
) -> None:
    ticket = announce(api, b"declared")
    key = ticket["upload"]["fields"]["key"]
    # Bytes that slipped past the policy (a lenient S3 server, or someone with bucket access).
    s3.put_object(
        Bucket=settings.storage.bucket, Key=key, Body=b"other!!!", ContentType="text/plain"
    )
    expire_form(engine, ticket["file_id"])

    report = sweeper(resources).sweep()

    assert (report.rejected, report.bytes_discarded) == (1, 1)
    stored = row(engine, ticket["file_id"])
    assert stored.status == "rejected"
    assert {m["field"] for m in stored.mismatches} == {"sha256"}
    assert versions(s3, settings.storage.bucket, key) == []


def test_a_delete_interrupted_a_while_ago_is_finished_and_a_fresh_one_left_alone(
    api: Api, engine: sa.Engine, resources: Resources, s3: S3Client, settings: Settings
) -> None:
    stalled, running = api.upload(b"stalled"), api.upload(b"running")
    update(
        engine,
        stalled["file_id"],
        status="deleting",
        deleting_since=utcnow() - timedelta(minutes=5),
    )
    update(engine, running["file_id"], status="deleting", deleting_since=utcnow())
    key = row(engine, stalled["file_id"]).object_key

    report = sweeper(resources).sweep()

    assert report.deletes_finished == 1
    assert row(engine, stalled["file_id"]) is None
    assert versions(s3, settings.storage.bucket, key) == []
    assert row(engine, running["file_id"]).status == "deleting"


def test_a_ready_file_keeps_only_its_verified_version_once_its_form_expired(
    api: Api, engine: sa.Engine, resources: Resources, s3: S3Client, settings: Settings
) -> None:
    # Without a declared checksum, the form takes any bytes of the declared size and type.
    ticket = announce(api, b"original", sha256=False)
    assert post_form(ticket["upload"], b"original").status_code == 204
    confirmed = api.request("POST", f"/files/{ticket['file_id']}/confirm")
    assert confirmed.status_code == 200
    time.sleep(1.1)  # S3 orders versions by their second-precision timestamps
    assert post_form(ticket["upload"], b"REPLACED").status_code == 204  # the form, reused
    key, bucket = ticket["upload"]["fields"]["key"], settings.storage.bucket
    assert current_bytes(s3, bucket, key) == b"REPLACED"
    expire_form(engine, ticket["file_id"])

    report = sweeper(resources).sweep()

    assert (report.ready_settled, report.versions_pruned) == (1, 1)
    verified = row(engine, ticket["file_id"]).version_id
    assert versions(s3, bucket, key) == [verified]
    assert current_bytes(s3, bucket, key) == b"original"
    assert row(engine, ticket["file_id"]).settled_at is not None


def test_an_object_without_a_file_is_deleted_once_no_form_can_write_to_it(
    api: Api,
    make_resources: Callable[..., Resources],
    s3: S3Client,
    settings: Settings,
) -> None:
    old, fresh = announce(api, b"reused after delete"), announce(api, b"reused just now")
    bucket = settings.storage.bucket
    for ticket in (old, fresh):
        assert api.request("DELETE", f"/files/{ticket['file_id']}").status_code == 204
    assert post_form(old["upload"], b"reused after delete").status_code == 204
    time.sleep(3.2)  # object timestamps cannot be moved back, so let this one age
    assert post_form(fresh["upload"], b"reused just now").status_code == 204
    resources = make_resources(sweep_grace_seconds=1, upload_url_ttl_seconds=1)

    report = sweeper(resources).sweep()

    assert report.orphans_deleted == 1
    assert versions(s3, bucket, old["upload"]["fields"]["key"]) == []
    assert len(versions(s3, bucket, fresh["upload"]["fields"]["key"])) == 1


def test_a_second_sweep_finds_nothing_to_do(
    api: Api, engine: sa.Engine, resources: Resources
) -> None:
    sent = announce(api, b"sent")
    assert post_form(sent["upload"], b"sent").status_code == 204
    for file_id in (sent["file_id"], announce(api, b"never")["file_id"], api.upload()["file_id"]):
        expire_form(engine, file_id)
    stalled = api.upload(b"stalled")["file_id"]
    update(engine, stalled, status="deleting", deleting_since=utcnow() - timedelta(minutes=5))

    first = sweeper(resources).sweep()
    second = sweeper(resources).sweep()

    assert (first.confirmed, first.expired, first.deletes_finished, first.ready_settled) == (
        1, 1, 1, 2,
    )  # fmt: skip
    assert second.total == 0, second


def test_two_sweepers_at_once_handle_each_file_exactly_once(
    api: Api, engine: sa.Engine, make_resources: Callable[..., Resources]
) -> None:
    sent = []
    for number in range(8):
        body = f"file {number}".encode()
        ticket = announce(api, body)
        assert post_form(ticket["upload"], body).status_code == 204
        sent.append(ticket["file_id"])
    never = [announce(api, b"never")["file_id"] for _ in range(4)]
    for file_id in sent + never:
        expire_form(engine, file_id)
    stalled = [api.upload(f"stalled {n}".encode())["file_id"] for n in range(4)]
    for file_id in stalled:
        update(engine, file_id, status="deleting", deleting_since=utcnow() - timedelta(minutes=5))
    calls: Counter[tuple[str, str]] = Counter()
    start = threading.Barrier(2)
    reports = []

    def sweep_on_its_own_connection() -> None:
        resources = make_resources(sweep_batch_size=3)
        storage = resources.storage
        for name in ("head", "purge", "prune"):
            real = getattr(storage, name)

            def counted(key: str, *args: object, _name: str = name, _real: Any = real) -> Any:
                calls[_name, key] += 1
                time.sleep(0.05)  # keep the two sweepers' batches overlapping
                return _real(key, *args)

            setattr(storage, name, counted)
        start.wait()
        reports.append(sweeper(resources).sweep())

    threads = [threading.Thread(target=sweep_on_its_own_connection) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(reports) == 2
    assert set(calls.values()) == {1}, calls
    assert Counter(name for name, _key in calls) == {"head": 12, "prune": 8, "purge": 8}
    assert sum(r.confirmed for r in reports) == 8
    assert sum(r.expired for r in reports) == 4
    assert sum(r.deletes_finished for r in reports) == 4
    assert {row(engine, f).status for f in sent} == {"ready"}
    assert {row(engine, f).status for f in never} == {"expired"}
    assert {row(engine, f) for f in stalled} == {None}


def test_a_rejection_is_recorded_before_its_bytes_are_destroyed(
    api: Api, engine: sa.Engine, resources: Resources, s3: S3Client, settings: Settings
) -> None:
    ticket = announce(api, b"declared")
    key, bucket = ticket["upload"]["fields"]["key"], settings.storage.bucket
    s3.put_object(Bucket=bucket, Key=key, Body=b"other!!!", ContentType="text/plain")
    expired = announce(api, b"never sent")
    for file_id in (ticket["file_id"], expired["file_id"]):
        expire_form(engine, file_id)
    storage = resources.storage

    def crash(_key: str) -> None:
        raise StorageUnavailable("Object storage is unreachable; try again shortly.")

    storage.purge = crash  # type: ignore[method-assign]
    with pytest.raises(StorageUnavailable):
        sweeper(resources).sweep()

    # The verdicts survived the failure, and the bytes they condemn are still there.
    assert row(engine, ticket["file_id"]).status == "rejected"
    assert row(engine, expired["file_id"]).status == "expired"
    assert len(versions(s3, bucket, key)) == 1
    del storage.purge  # the real method again

    report = sweeper(resources).sweep()

    assert report.bytes_discarded == 2
    assert versions(s3, bucket, key) == []
    assert row(engine, ticket["file_id"]).settled_at is not None


def test_a_confirm_after_the_sweeper_decided_gets_its_verdict(
    api: Api, engine: sa.Engine, resources: Resources
) -> None:
    ticket = announce(api, b"sent late")
    assert post_form(ticket["upload"], b"sent late").status_code == 204
    expire_form(engine, ticket["file_id"])
    sweeper(resources).sweep()

    confirmed = api.request("POST", f"/files/{ticket['file_id']}/confirm")

    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "ready"
    assert confirmed.json()["sha256"] == hashlib.sha256(b"sent late").hexdigest()


def test_serve_sweeps_in_the_background_when_an_interval_is_set(
    api_with: Callable[..., Api], engine: sa.Engine
) -> None:
    api = api_with(sweep_interval_seconds=1)
    ticket = announce(api, b"never sent")
    expire_form(engine, ticket["file_id"])

    deadline = time.monotonic() + 10
    while row(engine, ticket["file_id"]).status == "pending" and time.monotonic() < deadline:
        time.sleep(0.1)

    assert row(engine, ticket["file_id"]).status == "expired"


def test_what_a_crashed_confirm_or_delete_left_behind_is_finished_by_the_sweeper(
    api: Api, engine: sa.Engine, resources: Resources, s3: S3Client, settings: Settings
) -> None:
    bucket = settings.storage.bucket
    differing = announce(api, b"declared")
    differing_key = differing["upload"]["fields"]["key"]
    s3.put_object(Bucket=bucket, Key=differing_key, Body=b"other!!!", ContentType="text/plain")
    doomed = api.upload(b"to be deleted")["file_id"]
    doomed_key = row(engine, doomed).object_key
    owner_id = row(engine, doomed).owner_id

    def crash(_key: str) -> None:
        raise StorageUnavailable("Object storage is unreachable; try again shortly.")

    uploads = UploadService(engine, resources.storage, resources.settings)
    files = FileService(engine, resources.storage, resources.settings)
    resources.storage.purge = crash  # type: ignore[method-assign]
    with pytest.raises(StorageUnavailable):
        uploads.confirm(owner_id, uuid.UUID(differing["file_id"]))
    with pytest.raises(StorageUnavailable):
        files.delete(owner_id, uuid.UUID(doomed))
    del resources.storage.purge  # the real method again
    assert row(engine, differing["file_id"]).status == "rejected"
    assert row(engine, doomed).status == "deleting"
    expire_form(engine, differing["file_id"])
    update(engine, doomed, deleting_since=utcnow() - timedelta(minutes=2))

    report = sweeper(resources).sweep()

    assert (report.bytes_discarded, report.deletes_finished) == (1, 1)
    assert versions(s3, bucket, differing_key) == versions(s3, bucket, doomed_key) == []
    assert row(engine, doomed) is None


def test_an_expired_multipart_upload_with_parts_missing_expires_and_is_aborted(
    api: Api, engine: sa.Engine, resources: Resources, s3: S3Client, settings: Settings
) -> None:
    body = b"first part only" * 1000
    ticket = announce_multipart(api, 9 * MiB)
    send(api, ticket["file_id"], {1: body + bytes(PART - len(body))}, [1])
    expire_form(engine, ticket["file_id"])

    report = sweeper(resources).sweep()

    assert report.expired == 1
    assert row(engine, ticket["file_id"]).status == "expired"
    prefix = settings.storage.key_prefix
    assert s3_uploads(s3, settings.storage.bucket, prefix, ticket["file_id"]) == []


def test_an_expired_multipart_upload_whose_parts_all_arrived_is_assembled_and_ready(
    api: Api, engine: sa.Engine, resources: Resources
) -> None:
    body = b"every part sent, then the client crashed"
    ticket = announce_multipart(api, len(body))
    send(api, ticket["file_id"], {1: body}, [1])
    expire_form(engine, ticket["file_id"])

    report = sweeper(resources).sweep()

    assert report.confirmed == 1
    file = api.request("GET", f"/files/{ticket['file_id']}").json()
    assert (file["status"], file["integrity"]) == ("ready", "part_sha256")
    url = api.request("GET", f"/files/{ticket['file_id']}/download").json()["url"]
    assert httpx.get(url).content == body
