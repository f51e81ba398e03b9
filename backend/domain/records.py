"""What both halves of a file's life share: its states, what can differ, and finding it."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import msgspec
import sqlalchemy as sa

from backend.db import files as queries
from backend.db.engine import single_statement
from backend.db.tables import File
from backend.errors import NotFound


class FileStatus(enum.StrEnum):
    """Where a file is in its life.

    pending until confirm has seen matching bytes, then ready; rejected when they differed;
    expired when the form lapsed with nothing sent (the sweeper decides); deleting while its
    object versions are being destroyed (hidden from everything but delete).
    """

    PENDING = "pending"
    READY = "ready"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DELETING = "deleting"


class Integrity(enum.StrEnum):
    """What confirm checked the bytes against, recorded on a ready file.

    sha256: S3 checked the whole object against the declared SHA-256. part_sha256: S3 checked
    every part against the SHA-256 its URL was signed with, and again at completion; the whole
    object's SHA-256 was never computed by anyone (sha256 is null). size: only size and type.
    """

    SHA256 = "sha256"
    PART_SHA256 = "part_sha256"
    SIZE = "size"


class FileRecord(Protocol):
    """A file as the domain hands it out: what callers may read of it."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def confirmed_at(self) -> datetime | None: ...
    @property
    def part_size(self) -> int | None: ...
    @property
    def integrity(self) -> str | None: ...
    @property
    def composite_sha256(self) -> str | None: ...


@dataclass(frozen=True)
class Mismatch:
    """One way an uploaded object differed from what was declared."""

    # size, content_type or sha256; or something the upload carried that we never sign
    # (content_encoding, cache_control, metadata, ...), declared as "none".
    field: str
    declared: str
    received: str

    def __str__(self) -> str:
        return f"{self.field}: declared {self.declared}, received {self.received}"


def recorded_mismatches(file: File) -> list[Mismatch]:
    """What differed, for a rejected file; empty for any other."""
    if file.status != FileStatus.REJECTED or not file.mismatches:
        return []
    return msgspec.convert(file.mismatches, list[Mismatch])


def find_file(engine: sa.Engine, owner_id: uuid.UUID, file_id: uuid.UUID) -> File:
    """The owner's file, or NotFound (also for another owner's file, or one being deleted)."""
    with single_statement(engine) as connection:
        file = queries.read(connection, owner_id, file_id)
    if file is None or file.status == FileStatus.DELETING:
        raise NotFound("No such file.")
    return file
