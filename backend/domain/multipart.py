"""Multipart uploads: sign parts, list what S3 holds, and assemble the object from S3's parts.

The UploadId never leaves the server. Every part URL is signed with the part's exact length and
SHA-256, and completion names S3's own parts (never ETags a client sent) with those SHA-256s, so
S3 checks each part twice: when it arrives and when the object is assembled.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from backend import storage_multipart as s3parts
from backend.db import parts as part_queries
from backend.db.engine import transaction
from backend.db.tables import File, record_of, utcnow
from backend.domain import quotas
from backend.domain.part_sizes import PartPlan, plan_parts
from backend.domain.records import FileStatus, find_file
from backend.errors import (
    FileNotPending,
    InvalidInput,
    NotMultipart,
    PartsInvalid,
    PartsMissing,
    QuotaExceeded,
    UploadGone,
)
from backend.settings import Settings
from backend.storage import Storage
from backend.storage_multipart import StoredPart

# StoredPart is handed out as it is: the HTTP layer imports it from here, not from storage.
__all__ = [
    "MULTIPART_LIFETIME",
    "MultipartService",
    "SignedPart",
    "SignedParts",
    "StoredPart",
    "composite_sha256",
    "plan_of",
]

MAX_PARTS_PER_CALL = 100
# How long an unfinished multipart upload lives: terraform/storage.tf's lifecycle rule aborts
# incomplete uploads one day after they start.
MULTIPART_LIFETIME = timedelta(days=1)


@dataclass(frozen=True)
class SignedPart:
    """PUT the part's bytes to `url` with exactly `headers` (all signed)."""

    part_number: int
    url: str
    headers: dict[str, str]


@dataclass(frozen=True)
class SignedParts:
    """Part URLs and when they stop working."""

    parts: list[SignedPart]
    expires_at: datetime


def plan_of(file: File) -> PartPlan | None:
    """How a multipart file is cut into parts; None for a single-part file."""
    if file.multipart_upload_id is None or not file.part_size:
        return None
    count = max(1, -(-file.size // file.part_size))
    return PartPlan(size=file.size, part_size=file.part_size, part_count=count)


def composite_sha256(part_digests_hex: list[str]) -> str:
    """S3's composite checksum of an object made of parts with these SHA-256s, in order."""
    joined = b"".join(bytes.fromhex(digest) for digest in part_digests_hex)
    digest = base64.b64encode(hashlib.sha256(joined).digest()).decode("ascii")
    return f"{digest}-{len(part_digests_hex)}"


class MultipartService:
    """The parts of an owner's pending multipart files, over the database and the bucket."""

    def __init__(self, engine: sa.Engine, storage: Storage, settings: Settings) -> None:
        self.engine = engine
        self.storage = storage
        self.settings = settings

    def start(
        self,
        owner_id: uuid.UUID,
        *,
        filename: str,
        content_type: str,
        size: int,
        sha256: str | None,
    ) -> tuple[File, PartPlan]:
        """Start the S3 upload and record the pending file (name and type already checked)."""
        if sha256 is not None:
            # Nothing would check it: S3 checks each part's SHA-256, never the whole object's.
            raise InvalidInput(
                "sha256", "a multipart upload is checked part by part: give each part's "
                "SHA-256 when signing it, not the whole file's"
            )  # fmt: skip
        if size == 0:
            raise InvalidInput("size", "a multipart upload needs at least 1 byte")
        plan = plan_parts(size)
        file_id = uuid.uuid4()
        now = utcnow()
        # Nothing from the filename ever reaches the key: no traversal, no collisions.
        key = f"{self.settings.storage.key_prefix}{owner_id}/{file_id}"
        # Started before the row exists, so a failure leaves no row without an upload.
        upload_id = s3parts.create(self.storage, key, content_type=content_type)
        file = record_of(
            File,
            {
                "id": file_id,
                "owner_id": owner_id,
                "object_key": key,
                "filename": filename,
                "search_name": filename.casefold(),
                "content_type": content_type,
                "size": size,
                "status": FileStatus.PENDING,
                "created_at": now,
                "upload_expires_at": now + MULTIPART_LIFETIME,
                "multipart_upload_id": upload_id,
                "part_size": plan.part_size,
            },
        )
        try:
            quotas.record_reserving(self.engine, file, self.settings.limits)
        except QuotaExceeded:
            s3parts.abort(self.storage, key, upload_id=upload_id)
            raise
        return file, plan

    def sign(
        self,
        owner_id: uuid.UUID,
        file_id: uuid.UUID,
        *,
        part_numbers: list[int],
        sha256: dict[str, str],
    ) -> SignedParts:
        """Presigned UploadPart PUTs for these parts, each bound to its length and SHA-256."""
        file, plan = self._pending(owner_id, file_id)
        numbers = sorted(set(part_numbers))
        if not 1 <= len(numbers) <= MAX_PARTS_PER_CALL:
            raise InvalidInput("part_numbers", f"must name 1 to {MAX_PARTS_PER_CALL} parts")
        outside = [n for n in numbers if not 1 <= n <= plan.part_count]
        if outside:
            raise InvalidInput("part_numbers", f"part {outside[0]} is outside 1-{plan.part_count}")
        digests = _digests(sha256, numbers)
        ttl = self.settings.uploads.upload_url_ttl_seconds
        # Recorded before signing: completion must name the checksum a URL was signed with.
        with transaction(self.engine) as session:
            part_queries.record(session, file.id, digests)
        upload_id = file.multipart_upload_id or ""
        signed = [
            SignedPart(n, put.url, put.headers)
            for n in numbers
            for put in [
                s3parts.presign_part(
                    self.storage,
                    file.object_key,
                    upload_id=upload_id,
                    part_number=n,
                    size=plan.part_bytes(n),
                    sha256_hex=digests[n],
                    expires_in=ttl,
                )
            ]
        ]
        return SignedParts(signed, utcnow() + timedelta(seconds=ttl))

    def stored_parts(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> list[StoredPart]:
        """The parts S3 holds for a pending multipart file: what a resuming client skips."""
        file, _plan = self._pending(owner_id, file_id)
        held = s3parts.list_parts(
            self.storage, file.object_key, upload_id=file.multipart_upload_id or ""
        )
        if held is None:
            raise UploadGone("S3 no longer has this upload (aborted or expired); announce again.")
        return held

    def assemble(self, file: File, plan: PartPlan) -> str | None:
        """Complete the upload from S3's own part list; the composite checksum to expect.

        Raises PartsMissing or PartsInvalid (the file stays pending: send the parts and
        confirm again). When S3 no longer has the upload, or lists parts missing while the
        object exists, a concurrent confirm has completed it: the caller's HEAD decides.
        """
        with transaction(self.engine) as session:
            digests = part_queries.checksums(session, file.id)
        wanted = range(1, plan.part_count + 1)
        expected = (
            composite_sha256([digests[n] for n in wanted])
            if all(n in digests for n in wanted)
            else None
        )
        upload_id = file.multipart_upload_id or ""
        held = s3parts.list_parts(self.storage, file.object_key, upload_id=upload_id)
        if held is None:
            return expected
        by_number = {part.part_number: part for part in held}
        missing = [n for n in wanted if n not in by_number]
        if missing and self.storage.head(file.object_key) is not None:
            # A concurrent confirm completed the upload while S3 was listing its parts (SeaweedFS
            # then lists fewer or none, not NoSuchUpload): the object is there, the HEAD decides.
            return expected
        if missing:
            shown = ", ".join(map(str, missing[:20])) + (", ..." if len(missing) > 20 else "")
            raise PartsMissing(f"S3 does not have part(s) {shown} yet.", missing)
        wrong = [n for n in wanted if by_number[n].size != plan.part_bytes(n)]
        unsigned = [n for n in wanted if n not in digests]
        if wrong or unsigned:
            raise PartsInvalid(
                "Send these parts again with freshly signed URLs: "
                + "; ".join(
                    [f"part {n} has {by_number[n].size} bytes, not {plan.part_bytes(n)}"
                     for n in wrong]
                    + [f"part {n} was never signed with a SHA-256" for n in unsigned]
                )
            )  # fmt: skip
        try:
            s3parts.complete(
                self.storage,
                file.object_key,
                upload_id=upload_id,
                parts=[(by_number[n], digests[n]) for n in wanted],
            )
        except s3parts.PartsRefused as refused:
            raise PartsInvalid(
                f"S3 refused to assemble the parts ({refused.code}): a part's bytes differ from "
                "the SHA-256 it was last signed with. Sign and send the parts again."
            ) from refused
        return expected

    def _pending(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> tuple[File, PartPlan]:
        file = find_file(self.engine, owner_id, file_id)
        plan = plan_of(file)
        if plan is None:
            raise NotMultipart("This file is a single-part upload; it has no parts.")
        if file.status != FileStatus.PENDING:
            raise FileNotPending(f"The file is {file.status}; its parts can no longer change.")
        return file, plan


def _digests(sha256: dict[str, str], numbers: list[int]) -> dict[int, str]:
    """Part number -> lowercase SHA-256, one for each part asked for and no other."""
    by_number: dict[int, str] = {}
    for name, digest in sha256.items():
        # ASCII digits only, and short: int() refuses "²" and 5,000-digit numbers with errors.
        if not (name.isascii() and name.isdigit() and len(name) <= 5) or int(name) not in numbers:
            raise InvalidInput("sha256", f"{name!r} is not one of the part_numbers asked for")
        by_number[int(name)] = digest.lower()
    without = [n for n in numbers if n not in by_number]
    if without:
        raise InvalidInput(
            "sha256", f"part {without[0]} has no SHA-256; every part is signed with its own"
        )
    return by_number
