"""Confirm commits only what was verified: absent objects wait, mismatches are destroyed."""

from __future__ import annotations

import hashlib
import threading
import uuid
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
from mypy_boto3_s3 import S3Client

from backend.domain.keys import KeyService
from backend.domain.uploads import UploadService, Verdict
from backend.errors import StorageUnavailable
from backend.resources import Resources
from backend.settings import Settings
from backend.storage import ObjectFacts, Storage
from tests.integration.api import Api, post_form, put_body


def _key_of(ticket: dict[str, Any]) -> str:
    return str(ticket["upload"]["fields"]["key"])


def test_confirm_before_upload_is_a_conflict_and_the_file_stays_pending(api: Api) -> None:
    ticket = api.request_upload(b"soon").json()
    response = api.request("POST", f"/files/{ticket['file_id']}/confirm")
    assert response.status_code == 409
    assert response.json()["code"] == "object_missing"
    assert api.request("GET", f"/files/{ticket['file_id']}").json()["status"] == "pending"


@pytest.mark.parametrize(
    ("body", "content_type", "mismatches"),
    [
        (b"longer than declared", "text/plain", ["size", "sha256"]),
        (b"12345", "application/pdf", ["content_type"]),
        (b"54321", "text/plain", ["sha256"]),
    ],
)
def test_confirm_rejects_an_object_that_differs_and_deletes_it(
    api: Api,
    s3: S3Client,
    settings: Settings,
    body: bytes,
    content_type: str,
    mismatches: list[str],
) -> None:
    # Written behind the policy's back, as a misbehaving store or client could.
    ticket = api.request_upload(b"12345", sha256=hashlib.sha256(b"12345").hexdigest()).json()
    s3.put_object(
        Bucket=settings.storage.bucket,
        Key=_key_of(ticket),
        Body=body,
        ContentType=content_type,
        ChecksumAlgorithm="SHA256",
    )

    response = api.request("POST", f"/files/{ticket['file_id']}/confirm")

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "upload_rejected"
    assert [m["field"] for m in problem["mismatches"]] == mismatches
    versions = s3.list_object_versions(Bucket=settings.storage.bucket, Prefix=_key_of(ticket))
    assert versions.get("Versions", []) == []
    file = api.request("GET", f"/files/{ticket['file_id']}").json()
    assert file["status"] == "rejected"
    again = api.request("POST", f"/files/{ticket['file_id']}/confirm")
    assert again.status_code == 422
    assert again.json()["mismatches"] == problem["mismatches"]
    assert api.request("GET", f"/files/{ticket['file_id']}/download").status_code == 409


def test_rejected_files_are_listed_under_their_status(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    ticket = api.request_upload(b"abc").json()
    s3.put_object(
        Bucket=settings.storage.bucket, Key=_key_of(ticket), Body=b"abcd", ContentType="text/plain"
    )
    api.request("POST", f"/files/{ticket['file_id']}/confirm")
    rejected = api.request("GET", "/files", params={"status": "rejected"}).json()["items"]
    assert [f["file_id"] for f in rejected] == [ticket["file_id"]]


class _BarrierStorage(Storage):
    """Storage whose HEAD waits until both confirms have looked, to force the race."""

    def __init__(self, inner: Storage, barrier: threading.Barrier) -> None:
        super().__init__(inner.client, inner.bucket)
        self.barrier = barrier

    def head(self, key: str) -> ObjectFacts | None:
        facts = super().head(key)
        self.barrier.wait(timeout=10)
        return facts


def test_concurrent_confirms_make_exactly_one_transition(
    api: Api, engine: sa.Engine, settings: Settings, boto_session: boto3.session.Session
) -> None:
    body = b"race"
    ticket = api.request_upload(body, sha256=hashlib.sha256(body).hexdigest()).json()
    assert post_form(ticket["upload"], body).status_code == 204
    owner_id = KeyService(engine).authenticate(api.key)
    resources = Resources.create(settings, boto_session)
    storage = _BarrierStorage(resources.storage, threading.Barrier(2))
    results: list[Verdict] = []
    errors: list[BaseException] = []

    def confirm() -> None:
        try:
            service = UploadService(engine, storage, settings)
            results.append(service.confirm(owner_id, uuid.UUID(ticket["file_id"])))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    resources.close()

    assert errors == []
    assert [r.file.status for r in results] == ["ready", "ready"]
    # One UPDATE won; the other found the row already ready and changed nothing.
    assert results[0].file.confirmed_at == results[1].file.confirmed_at
    # ...and the owner's counters moved once: one file used, nothing left reserved.
    usage = api.request("GET", "/me").json()["usage"]
    assert (usage["bytes_used"], usage["files_used"]) == (len(body), 1)
    assert (usage["bytes_reserved"], usage["files_reserved"]) == (0, 0)


@pytest.mark.parametrize(
    ("field", "value", "mismatch"),
    [
        ("Content-Encoding", "gzip", "content_encoding"),
        ("Cache-Control", "public, max-age=31536000", "cache_control"),
        ("Content-Disposition", "inline", "content_disposition"),
        ("Expires", "Wed, 21 Oct 2037 07:28:00 GMT", "expires"),
    ],
)
def test_confirm_rejects_what_an_unsigned_form_field_added(
    api: Api, s3: S3Client, settings: Settings, field: str, value: str, mismatch: str
) -> None:
    # SeaweedFS stores form fields the policy does not cover (AWS refuses them); downloads
    # would then carry them, so confirm must not depend on the server's strictness.
    body = b"plain bytes"
    ticket = api.request_upload(body, sha256=hashlib.sha256(body).hexdigest()).json()
    assert post_form(ticket["upload"], body, fields={field: value}).status_code == 204

    response = api.request("POST", f"/files/{ticket['file_id']}/confirm")

    assert response.status_code == 422, response.text
    assert response.json()["mismatches"] == [
        {"field": mismatch, "declared": "none", "received": value}
    ]
    versions = s3.list_object_versions(Bucket=settings.storage.bucket, Prefix=_key_of(ticket))
    assert versions.get("Versions", []) == []


def test_confirm_rejects_a_put_that_carried_an_unsigned_encoding(api: Api) -> None:
    body = b"plain bytes"
    ticket = api.request_upload(body, method="PUT").json()
    assert put_body(ticket["upload"], body, headers={"Content-Encoding": "gzip"}).status_code == 200
    response = api.request("POST", f"/files/{ticket['file_id']}/confirm")
    assert response.status_code == 422
    assert [m["field"] for m in response.json()["mismatches"]] == ["content_encoding"]


def test_confirm_rejects_user_metadata_written_behind_the_forms_back(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    ticket = api.request_upload(b"meta").json()
    s3.put_object(
        Bucket=settings.storage.bucket,
        Key=_key_of(ticket),
        Body=b"meta",
        ContentType="text/plain",
        Metadata={"owner": "mallory"},
    )
    response = api.request("POST", f"/files/{ticket['file_id']}/confirm")
    assert response.status_code == 422
    assert response.json()["mismatches"][0]["field"] == "metadata"


class _PurgeFails(Storage):
    """Storage whose purge fails, as when S3 goes away (or the process dies) mid-confirm."""

    def __init__(self, inner: Storage) -> None:
        super().__init__(inner.client, inner.bucket)

    def purge(self, key: str) -> None:
        raise StorageUnavailable("Object storage is unreachable; try again shortly.")


def test_a_rejection_is_recorded_before_the_bytes_are_destroyed(
    api: Api,
    s3: S3Client,
    engine: sa.Engine,
    settings: Settings,
    boto_session: boto3.session.Session,
) -> None:
    ticket = api.request_upload(b"12345", sha256=hashlib.sha256(b"12345").hexdigest()).json()
    s3.put_object(
        Bucket=settings.storage.bucket, Key=_key_of(ticket), Body=b"54321", ContentType="text/plain"
    )
    owner_id = KeyService(engine).authenticate(api.key)
    file_id = uuid.UUID(ticket["file_id"])
    resources = Resources.create(settings, boto_session)
    try:
        failing = UploadService(engine, _PurgeFails(resources.storage), settings)
        with pytest.raises(StorageUnavailable):
            failing.confirm(owner_id, file_id)
    finally:
        resources.close()
    # The verdict survived the failure: the file is rejected, not pending with bytes gone.
    assert api.request("GET", f"/files/{file_id}").json()["status"] == "rejected"

    again = api.request("POST", f"/files/{file_id}/confirm")  # asking again finishes the job
    assert again.status_code == 422
    assert [m["field"] for m in again.json()["mismatches"]] == ["sha256"]
    versions = s3.list_object_versions(Bucket=settings.storage.bucket, Prefix=_key_of(ticket))
    assert versions.get("Versions", []) == []


class _DecidedMeanwhile(Storage):
    """A HEAD that finds nothing because a concurrent confirm rejected and purged the object."""

    def __init__(self, inner: Storage, engine: sa.Engine) -> None:
        super().__init__(inner.client, inner.bucket)
        self.engine = engine

    def head(self, key: str) -> ObjectFacts | None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "UPDATE files SET status = 'rejected', mismatches = :m WHERE object_key = :k"
                ),
                {"k": key, "m": '[{"field": "size", "declared": "1", "received": "2"}]'},
            )
        return None


def test_a_confirm_that_loses_the_race_to_a_rejection_answers_the_rejection(
    api: Api, engine: sa.Engine, settings: Settings, boto_session: boto3.session.Session
) -> None:
    ticket = api.request_upload(b"raced").json()
    owner_id = KeyService(engine).authenticate(api.key)
    resources = Resources.create(settings, boto_session)
    try:
        service = UploadService(engine, _DecidedMeanwhile(resources.storage, engine), settings)
        verdict = service.confirm(owner_id, uuid.UUID(ticket["file_id"]))
    finally:
        resources.close()
    assert verdict.rejected  # a 422 for this caller too, never "send the bytes" (409)
    assert [m.field for m in verdict.mismatches] == ["size"]
