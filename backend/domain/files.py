"""The two-step upload: announce, verify, and the file's life after that."""

from __future__ import annotations

import contextlib
import enum
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Literal

import msgspec
import sqlalchemy as sa

from backend.db import files as queries
from backend.db.engine import transaction
from backend.db.tables import File, utcnow
from backend.domain import cursor
from backend.domain.content_types import inline_safe, normalize_content_type, require_allowed
from backend.domain.filenames import (
    MAX_FILENAME_BYTES,
    content_disposition,
    normalize_filename,
    require_printable,
)
from backend.errors import FileNotReady, InvalidInput, NotFound, ObjectMissing, TooLarge
from backend.settings import Settings
from backend.storage import ObjectFacts, PresignedPost, Storage, sha256_b64_to_hex

MAX_PAGE = 100


class FileStatus(enum.StrEnum):
    """Where a file is in its life.

    pending until confirm has seen matching bytes, then ready; rejected when they differed;
    deleting while its object versions are being destroyed (hidden from everything but delete).
    """

    PENDING = "pending"
    READY = "ready"
    REJECTED = "rejected"
    DELETING = "deleting"


@dataclass(frozen=True)
class Mismatch:
    """One way an uploaded object differed from what was declared."""

    field: Literal["size", "content_type", "sha256"]
    declared: str
    received: str

    def __str__(self) -> str:
        return f"{self.field}: declared {self.declared}, received {self.received}"


@dataclass(frozen=True)
class UploadTicket:
    """A pending file and the form that lets its owner send the bytes."""

    file: File
    form: PresignedPost
    expires_at: datetime


@dataclass(frozen=True)
class Verdict:
    """The outcome of a confirm: the file as it now stands, and what differed if it was rejected."""

    file: File
    mismatches: list[Mismatch]

    @property
    def rejected(self) -> bool:
        """True when the object did not match its declaration."""
        return self.file.status == FileStatus.REJECTED


@dataclass(frozen=True)
class Download:
    """A presigned GET and when it stops working."""

    url: str
    expires_at: datetime


@dataclass(frozen=True)
class Page:
    """One page of a listing and the cursor for the next (None on the last page)."""

    items: list[File]
    next_cursor: str | None


class FileService:
    """The rules for owners' files, over the database and the bucket.

    Each step is its own short transaction (backend.db.engine.transaction, the one place that
    commits), so no database connection is held while S3 answers.
    """

    def __init__(self, engine: sa.Engine, storage: Storage, settings: Settings) -> None:
        self.engine = engine
        self.storage = storage
        self.settings = settings

    def request_upload(
        self,
        owner_id: uuid.UUID,
        *,
        filename: str,
        content_type: str,
        size: int,
        sha256: str | None,
    ) -> UploadTicket:
        """Record a pending file and sign a form that accepts exactly the declared object."""
        name = normalize_filename(filename)
        kind = normalize_content_type(content_type)
        if size > self.settings.max_upload_bytes:
            raise TooLarge(
                f"{size} bytes is over the limit of {self.settings.max_upload_bytes} bytes."
            )
        require_allowed(kind, self.settings.allowed_content_types)
        file_id = uuid.uuid4()
        now = utcnow()
        ttl = self.settings.upload_url_ttl_seconds
        # Nothing from the filename ever reaches the key: no traversal, no collisions.
        key = f"{self.settings.s3_key_prefix}{owner_id}/{file_id}"
        digest = sha256.lower() if sha256 else None
        # Signed before the row exists, so a signing failure leaves nothing behind.
        form = self.storage.presign_post(
            key, size=size, content_type=kind, sha256_hex=digest, expires_in=ttl
        )
        file = File(
            id=file_id,
            owner_id=owner_id,
            object_key=key,
            filename=name,
            search_name=name.casefold(),
            content_type=kind,
            size=size,
            sha256=digest,
            status=FileStatus.PENDING,
            created_at=now,
            upload_expires_at=now + timedelta(seconds=ttl),
        )
        with transaction(self.engine) as session:
            session.add(file)
        return UploadTicket(file=file, form=form, expires_at=file.upload_expires_at)

    def confirm(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> Verdict:
        """Check the object against its declaration; commit it as ready or reject it.

        HEAD happens before the UPDATE so a row only becomes ready for bytes that were seen;
        the UPDATE is conditional on `pending`, so concurrent confirms make one transition.
        """
        file = self.get(owner_id, file_id)
        if file.status != FileStatus.PENDING:
            return Verdict(file, _mismatches(file))
        facts = self.storage.head(file.object_key)
        if facts is None:
            hint = (
                " The upload form has expired; request a new upload."
                if utcnow() >= file.upload_expires_at
                else " Send the bytes with the upload form first."
            )
            raise ObjectMissing("No object has arrived for this file." + hint)
        mismatches = _compare(file, facts)
        if mismatches:
            # The object is not what was promised: destroy it (every version), then say so.
            self.storage.purge(file.object_key)
            values: dict[str, object] = {
                "status": FileStatus.REJECTED,
                "mismatches": [asdict(m) for m in mismatches],
            }
        else:
            values = {
                "status": FileStatus.READY,
                "etag": facts.etag,
                "version_id": facts.version_id,
                "confirmed_at": utcnow(),
                "sha256": file.sha256 or _sha256_hex(facts),
            }
        with transaction(self.engine) as session:
            queries.transition(
                session, owner_id, file_id, from_status=FileStatus.PENDING, values=values
            )
            current = queries.get(session, owner_id, file_id)
        if current is None or current.status == FileStatus.DELETING:  # deleted meanwhile
            raise NotFound("No such file.")
        return Verdict(current, _mismatches(current))

    def page(
        self,
        owner_id: uuid.UUID,
        *,
        status: str,
        limit: int,
        cursor_token: str | None,
        q: str | None,
    ) -> Page:
        """A page of the owner's files, newest first."""
        if status not in {FileStatus.PENDING, FileStatus.READY, FileStatus.REJECTED}:
            raise InvalidInput("status", "must be one of pending, ready, rejected")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be between 1 and {MAX_PAGE}")
        if q is not None:
            require_printable("q", q)
            if len(q) > MAX_FILENAME_BYTES:
                raise InvalidInput("q", f"must be at most {MAX_FILENAME_BYTES} characters")
        after = cursor.decode(cursor_token) if cursor_token else None
        with transaction(self.engine) as session:
            rows = queries.page(
                session, owner_id, status=status, limit=limit + 1, after=after, name_contains=q
            )
        items = rows[:limit]
        next_cursor = (
            cursor.encode(items[-1].created_at, items[-1].id) if len(rows) > limit else None
        )
        return Page(items, next_cursor)

    def get(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> File:
        """The owner's file, or NotFound (also for another owner's file, or one being deleted)."""
        with transaction(self.engine) as session:
            file = queries.get(session, owner_id, file_id)
        if file is None or file.status == FileStatus.DELETING:
            raise NotFound("No such file.")
        return file

    def download(
        self,
        owner_id: uuid.UUID,
        file_id: uuid.UUID,
        disposition: Literal["attachment", "inline"] = "attachment",
    ) -> Download:
        """A short-lived GET for a ready file, pinned to its version and response headers."""
        file = self.get(owner_id, file_id)
        if file.status != FileStatus.READY:
            raise FileNotReady(f"The file is {file.status}; only ready files can be downloaded.")
        if disposition == "inline" and not inline_safe(file.content_type):
            disposition = "attachment"
        ttl = self.settings.download_url_ttl_seconds
        url = self.storage.presign_get(
            file.object_key,
            version_id=file.version_id,
            content_type=file.content_type,
            content_disposition=content_disposition(file.filename, disposition),
            expires_in=ttl,
        )
        return Download(url=url, expires_at=utcnow() + timedelta(seconds=ttl))

    def delete(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> None:
        """Hide the file, destroy every version of its object, then drop the row.

        If S3 fails halfway the row stays `deleting`: invisible, and a repeated DELETE finishes
        the job. A row is never left pointing at bytes that are gone.
        """
        with transaction(self.engine) as session:
            file = queries.get(session, owner_id, file_id)
            if file is None:
                raise NotFound("No such file.")
            queries.transition(
                session, owner_id, file_id, from_status=file.status,
                values={"status": FileStatus.DELETING},
            )  # fmt: skip
        self.storage.purge(file.object_key)
        with transaction(self.engine) as session:
            queries.delete(session, owner_id, file_id)


def _compare(file: File, facts: ObjectFacts) -> list[Mismatch]:
    """Each way the object differs from the declaration."""
    mismatches = []
    if facts.size != file.size:
        mismatches.append(Mismatch("size", f"{file.size} bytes", f"{facts.size} bytes"))
    received_type = facts.content_type or ""
    with contextlib.suppress(InvalidInput):  # a malformed stored type simply will not match
        received_type = normalize_content_type(received_type)
    if received_type != file.content_type:
        mismatches.append(Mismatch("content_type", file.content_type, received_type or "none"))
    received_sha256 = _sha256_hex(facts)
    if file.sha256 is not None and received_sha256 != file.sha256:
        mismatches.append(Mismatch("sha256", file.sha256, received_sha256 or "none"))
    return mismatches


def _sha256_hex(facts: ObjectFacts) -> str | None:
    return sha256_b64_to_hex(facts.sha256_b64) if facts.sha256_b64 else None


def _mismatches(file: File) -> list[Mismatch]:
    if file.status != FileStatus.REJECTED or not file.mismatches:
        return []
    return msgspec.convert(file.mismatches, list[Mismatch])
