"""The file's life once announced: read it, list them, download it, delete it."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa

from backend import storage_multipart as s3parts
from backend.db import files as queries
from backend.db.engine import single_statement, transaction
from backend.db.files import ListedFile
from backend.db.tables import File, utcnow
from backend.domain import cursor
from backend.domain.content_types import inline_safe
from backend.domain.filenames import MAX_FILENAME_BYTES, content_disposition, require_printable
from backend.domain.records import FileStatus, find_file
from backend.errors import FileNotReady, InvalidInput, NotFound
from backend.settings import Settings
from backend.storage import Storage

MAX_PAGE = 100


@dataclass(frozen=True)
class Download:
    """A presigned GET and when it stops working."""

    url: str
    expires_at: datetime


@dataclass(frozen=True)
class Page:
    """One page of a listing and the cursor for the next (None on the last page)."""

    items: list[ListedFile]
    next_cursor: str | None


class FileService:
    """Owners' files after announcement, over the database and the bucket.

    Like UploadService, each step is its own short transaction.
    """

    def __init__(self, engine: sa.Engine, storage: Storage, settings: Settings) -> None:
        self.engine = engine
        self.storage = storage
        self.settings = settings

    def get(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> File:
        """The owner's file, or NotFound (also for another owner's file, or one being deleted)."""
        return find_file(self.engine, owner_id, file_id)

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
            q = unicodedata.normalize("NFC", q)  # as filenames are stored
        after = cursor.decode(cursor_token) if cursor_token else None
        with single_statement(self.engine) as connection:
            rows = queries.page(
                connection, owner_id, status=status, limit=limit + 1, after=after, name_contains=q
            )
        items = rows[:limit]
        next_cursor = (
            cursor.encode(items[-1].created_at, items[-1].id) if len(rows) > limit else None
        )
        return Page(items, next_cursor)

    def download(
        self,
        owner_id: uuid.UUID,
        file_id: uuid.UUID,
        disposition: Literal["attachment", "inline"] = "attachment",
    ) -> Download:
        """A short-lived GET for a ready file, pinned to its version and response headers."""
        file = find_file(self.engine, owner_id, file_id)
        if file.status != FileStatus.READY:
            raise FileNotReady(f"The file is {file.status}; only ready files can be downloaded.")
        if disposition == "inline" and not inline_safe(file.content_type):
            disposition = "attachment"
        ttl = self.settings.uploads.download_url_ttl_seconds
        url = self.storage.presign_get(
            file.object_key,
            version_id=file.version_id,
            content_type=file.content_type,
            content_disposition=content_disposition(file.filename, disposition),
            expires_in=ttl,
        )
        return Download(url=url, expires_at=utcnow() + timedelta(seconds=ttl))

    def delete(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> None:
        """Hide the file, abort its multipart upload, destroy every version, then drop the row.

        If S3 fails halfway the row stays `deleting`: invisible, and a repeated DELETE (or the
        sweeper, a minute later) finishes the job. A row is never left pointing at bytes that
        are gone.
        """
        with transaction(self.engine) as session:
            file = queries.get(session, owner_id, file_id)
            if file is None:
                raise NotFound("No such file.")
            queries.transition(
                session, owner_id, file_id, from_status=file.status,
                values={"status": FileStatus.DELETING, "deleting_since": utcnow()},
            )  # fmt: skip
        self.discard_object(file)
        with transaction(self.engine) as session:
            queries.delete(session, owner_id, file_id)

    def discard_object(self, file: File) -> None:
        """Destroy whatever the bucket holds for this file: every version of its object.

        The one place that lets go of a file's bytes for good (deletes, and the sweeper's
        expired, rejected and half-deleted files), so an upload still in progress under the
        key (a multipart one) is aborted here too.
        """
        if file.multipart_upload_id is not None:
            # An unfinished multipart upload keeps its parts (and their storage cost) until
            # aborted; a completed one is already gone and the abort is a no-op.
            s3parts.abort(self.storage, file.object_key, upload_id=file.multipart_upload_id)
        self.storage.purge(file.object_key)
