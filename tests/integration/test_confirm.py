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
from backend.resources import Resources
from backend.settings import Settings
from backend.storage import ObjectFacts, Storage
from tests.integration.api import Api, post_form


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
