"""The two-step upload: announce, verify, and the file's life after that."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlmodel import Session

from backend.db import files as queries
from backend.db.tables import File, FileStatus, utcnow
from backend.domain import cursor
from backend.domain.content_types import inline_safe, normalize_content_type, require_allowed
from backend.domain.filenames import (
    MAX_FILENAME_BYTES,
    content_disposition,
    normalize_filename,
)
from backend.errors import FileNotReady, InvalidInput, NotFound, ObjectMissing, TooLarge
from backend.settings import Settings
from backend.storage import ObjectFacts, PresignedPost, Storage, sha256_b64_to_hex

MAX_PAGE = 100


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
    mismatches: list[str]

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
    """The rules for one owner's files, on one session (the caller commits) and the bucket."""

    def __init__(self, session: Session, storage: Storage, settings: Settings) -> None:
        self.session = session
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
        expires_at = now + timedelta(seconds=self.settings.upload_url_ttl_seconds)
        file = File(
            id=file_id,
            owner_id=owner_id,
            # Nothing from the filename ever reaches the key: no traversal, no collisions.
            object_key=f"{self.settings.s3_key_prefix}{owner_id}/{file_id}",
            filename=name,
            search_name=name.casefold(),
            content_type=kind,
            size=size,
            sha256=sha256.lower() if sha256 else None,
            status=FileStatus.PENDING.value,
            created_at=now,
            upload_expires_at=expires_at,
        )
        self.session.add(file)
        self.session.flush()
        form = self.storage.presign_post(
            file.object_key,
            size=size,
            content_type=kind,
            sha256_hex=file.sha256,
            expires_in=self.settings.upload_url_ttl_seconds,
        )
        return UploadTicket(file=file, form=form, expires_at=expires_at)

    def confirm(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> Verdict:
        """Check the object against its declaration; commit it as ready or reject it.

        HEAD happens before the UPDATE so a row only becomes ready for bytes that were seen;
        the UPDATE is conditional on `pending`, so concurrent confirms make one transition.
        """
        file = self._get(owner_id, file_id)
        if file.status != FileStatus.PENDING:
            return Verdict(file, _reasons(file))
        facts = self.storage.head(file.object_key)
        if facts is None:
            hint = (
                " The upload form has expired; request a new upload."
                if utcnow() >= file.upload_expires_at
                else " Send the bytes with the upload form first."
            )
            raise ObjectMissing("No object has arrived for this file." + hint)
        mismatches = _compare(file, facts)
        values: dict[str, Any]
        if mismatches:
            # The object is not what was promised: destroy that exact version, then say so.
            self.storage.delete(file.object_key, version_id=facts.version_id)
            values = {
                "status": FileStatus.REJECTED.value,
                "rejection_reason": "; ".join(mismatches),
            }
        else:
            values = {
                "status": FileStatus.READY.value,
                "etag": facts.etag,
                "version_id": facts.version_id,
                "confirmed_at": utcnow(),
                "sha256": file.sha256 or _sha256_hex(facts),
            }
        queries.transition(self.session, file.id, from_status=FileStatus.PENDING, values=values)
        self.session.expire(file)
        current = queries.get(self.session, owner_id, file_id)
        if current is None:  # deleted while we looked
            raise NotFound("No such file.")
        return Verdict(current, _reasons(current))

    def list(
        self,
        owner_id: uuid.UUID,
        *,
        status: str,
        limit: int,
        cursor_token: str | None,
        q: str | None,
    ) -> Page:
        """A page of the owner's files, newest first."""
        if status not in {s.value for s in FileStatus}:
            raise InvalidInput("status", "must be one of pending, ready, rejected")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be between 1 and {MAX_PAGE}")
        if q is not None and len(q) > MAX_FILENAME_BYTES:
            raise InvalidInput("q", f"must be at most {MAX_FILENAME_BYTES} characters")
        after = cursor.decode(cursor_token) if cursor_token else None
        rows = queries.page(
            self.session, owner_id, status=status, limit=limit + 1, after=after, name_contains=q
        )
        items = rows[:limit]
        next_cursor = (
            cursor.encode(items[-1].created_at, items[-1].id) if len(rows) > limit else None
        )
        return Page(items, next_cursor)

    def get(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> File:
        """The owner's file, or NotFound."""
        return self._get(owner_id, file_id)

    def download(
        self,
        owner_id: uuid.UUID,
        file_id: uuid.UUID,
        disposition: Literal["attachment", "inline"] = "attachment",
    ) -> Download:
        """A short-lived GET for a ready file, pinned to its version and response headers."""
        file = self._get(owner_id, file_id)
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
        """Remove the object (its exact version) and then the row."""
        file = self._get(owner_id, file_id)
        if file.status != FileStatus.REJECTED:
            version_id = file.version_id
            if version_id is None:  # pending: the bytes may have arrived unannounced
                facts = self.storage.head(file.object_key)
                version_id = facts.version_id if facts else None
            self.storage.delete(file.object_key, version_id=version_id)
        if not queries.delete(self.session, file.id):
            raise NotFound("No such file.")

    def _get(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> File:
        file = queries.get(self.session, owner_id, file_id)
        if file is None:
            raise NotFound("No such file.")
        return file


def _compare(file: File, facts: ObjectFacts) -> list[str]:
    """Each way the object differs from the declaration, as a sentence naming the field."""
    mismatches = []
    if facts.size != file.size:
        mismatches.append(f"size: declared {file.size} bytes, received {facts.size}")
    received_type = facts.content_type or ""
    with contextlib.suppress(InvalidInput):  # a malformed stored type simply will not match
        received_type = normalize_content_type(received_type)
    if received_type != file.content_type:
        mismatches.append(
            f"content_type: declared {file.content_type}, received {received_type or 'none'}"
        )
    if file.sha256 is not None and _sha256_hex(facts) != file.sha256:
        mismatches.append("sha256: the object's SHA-256 differs from the declared one")
    return mismatches


def _sha256_hex(facts: ObjectFacts) -> str | None:
    return sha256_b64_to_hex(facts.sha256_b64) if facts.sha256_b64 else None


def _reasons(file: File) -> list[str]:
    if file.status != FileStatus.REJECTED or not file.rejection_reason:
        return []
    return file.rejection_reason.split("; ")
