"""The S3 multipart calls: create, sign a part, list parts, complete, abort; errors translated.

Kept beside backend.storage (whose Storage it uses) so each adapter module stays small; every
call that talks to S3 holds a slot of the same bulkhead as Storage's own (signing needs none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from backend.errors import StorageUnavailable
from backend.storage import PresignedPut, Storage, error_code, sha256_hex_to_b64

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

_NO_UPLOAD = frozenset({"NoSuchUpload", "404"})
# What S3 answers when the parts it holds are not the ones named at completion.
_PARTS_REFUSED = frozenset({"BadDigest", "InvalidPart", "InvalidPartOrder", "EntityTooSmall"})


@dataclass(frozen=True)
class StoredPart:
    """A part as S3 holds it."""

    part_number: int
    size: int
    etag: str


@dataclass(frozen=True)
class Completed:
    """What S3 reported on completing an upload."""

    etag: str | None
    composite_sha256: str | None


class PartsRefused(Exception):
    """S3 refused to complete: a part's bytes differ from the checksum given for it."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def create(storage: Storage, key: str, *, content_type: str) -> str:
    """Start a multipart upload whose parts each carry an S3-checked SHA-256; its UploadId."""
    try:
        with storage.calls.enter():
            answer = storage.client.create_multipart_upload(
                Bucket=storage.bucket,
                Key=key,
                ContentType=content_type,
                ChecksumAlgorithm="SHA256",
            )
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable(exc) from exc
    return answer["UploadId"]


def presign_part(
    storage: Storage,
    key: str,
    *,
    upload_id: str,
    part_number: int,
    size: int,
    sha256_hex: str,
    expires_in: int,
) -> PresignedPut:
    """An UploadPart URL pinned to this upload, part number, exact length and SHA-256."""
    checksum = sha256_hex_to_b64(sha256_hex)
    params: dict[str, Any] = {
        "Bucket": storage.bucket,
        "Key": key,
        "UploadId": upload_id,
        "PartNumber": part_number,
        "ContentLength": size,
        "ChecksumSHA256": checksum,
    }
    try:
        url = storage.client.generate_presigned_url(
            "upload_part", Params=params, ExpiresIn=expires_in
        )
    except BotoCoreError as exc:
        raise StorageUnavailable("Cannot sign the parts: storage credentials missing.") from exc
    return PresignedPut(
        url=url, headers={"Content-Length": str(size), "x-amz-checksum-sha256": checksum}
    )


def list_parts(storage: Storage, key: str, *, upload_id: str) -> list[StoredPart] | None:
    """Every part S3 holds for the upload, in order; None when the upload no longer exists.

    A part sent twice is listed once on AWS (the later upload replaces it) but twice by
    SeaweedFS, which keeps both and assembles whichever ETag completion names: keep the latest.
    """
    latest: dict[int, tuple[Any, StoredPart]] = {}
    try:
        with storage.calls.enter():  # one slot for every page
            pages = storage.client.get_paginator("list_parts").paginate(
                Bucket=storage.bucket, Key=key, UploadId=upload_id
            )
            for page in pages:
                for part in page.get("Parts", []):
                    found = StoredPart(part["PartNumber"], part["Size"], part["ETag"])
                    when = part.get("LastModified")
                    seen = latest.get(found.part_number)
                    if seen is None or when is None or seen[0] is None or when >= seen[0]:
                        latest[found.part_number] = (when, found)
    except ClientError as exc:
        if error_code(exc) in _NO_UPLOAD:
            return None
        raise _unavailable(exc) from exc
    except BotoCoreError as exc:
        raise _unavailable(exc) from exc
    return [latest[number][1] for number in sorted(latest)]


def complete(
    storage: Storage, key: str, *, upload_id: str, parts: list[tuple[StoredPart, str]]
) -> Completed | None:
    """Assemble the object from these parts, each with the SHA-256 S3 must find in it.

    None when the upload no longer exists (completed by a concurrent call, or aborted);
    PartsRefused when S3 finds a part other than named.
    """
    named: list[CompletedPartTypeDef] = [
        {"PartNumber": part.part_number, "ETag": part.etag, "ChecksumSHA256": sha256_hex_to_b64(d)}
        for part, d in parts
    ]
    try:
        with storage.calls.enter():
            answer = storage.client.complete_multipart_upload(
                Bucket=storage.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": named},
            )
    except ClientError as exc:
        code = error_code(exc)
        if code in _NO_UPLOAD:
            return None
        if code in _PARTS_REFUSED:
            raise PartsRefused(code) from exc
        raise _unavailable(exc) from exc
    except BotoCoreError as exc:
        raise _unavailable(exc) from exc
    return Completed(etag=answer.get("ETag"), composite_sha256=answer.get("ChecksumSHA256"))


def abort(storage: Storage, key: str, *, upload_id: str) -> None:
    """Abort the upload and drop its parts; an upload already gone is fine."""
    try:
        with storage.calls.enter():
            storage.client.abort_multipart_upload(
                Bucket=storage.bucket, Key=key, UploadId=upload_id
            )
    except ClientError as exc:
        if error_code(exc) not in _NO_UPLOAD:
            raise _unavailable(exc) from exc
    except BotoCoreError as exc:
        raise _unavailable(exc) from exc


def _unavailable(exc: Exception) -> StorageUnavailable:
    if isinstance(exc, ClientError):
        return StorageUnavailable(f"Object storage refused the request ({error_code(exc)}).")
    return StorageUnavailable("Object storage is unreachable; try again shortly.")
