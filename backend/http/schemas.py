"""Wire types: every request and response body, as msgspec Structs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from backend.domain.files import Download
from backend.domain.records import FileRecord
from backend.domain.uploads import UploadTicket

# The length bound matters: `$` also matches before a trailing newline.
Sha256Hex = Annotated[
    str,
    msgspec.Meta(
        pattern="^[0-9a-fA-F]{64}$", min_length=64, max_length=64, description="SHA-256, hex"
    ),
]


class UploadRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a client declares about the file it is about to send."""

    filename: Annotated[str, msgspec.Meta(description="Display name; stored NFC-normalised")]
    content_type: Annotated[str, msgspec.Meta(description="Media type, e.g. image/png")]
    size: Annotated[int, msgspec.Meta(ge=0, description="Exact size in bytes")]
    sha256: Sha256Hex | None = None
    method: Annotated[
        Literal["POST", "PUT"],
        msgspec.Meta(
            description="POST: a form for browsers (default). PUT: the file as the request body, "
            "for native apps' background transfers"
        ),
    ] = "POST"


class UploadForm(msgspec.Struct, tag_field="method", tag="POST"):
    """POST `fields` as multipart/form-data to `url`, with the file as the last part."""

    url: str
    fields: dict[str, str]


class UploadPut(msgspec.Struct, tag_field="method", tag="PUT"):
    """PUT the file as the request body to `url`, sending exactly `headers` (all signed)."""

    url: str
    headers: dict[str, str]


class UploadTicketOut(msgspec.Struct):
    """The answer to an upload request."""

    file_id: uuid.UUID
    status: str
    upload: UploadForm | UploadPut
    expires_at: datetime


class FileOut(msgspec.Struct):
    """A file as clients see it."""

    file_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str | None
    status: str
    created_at: datetime
    confirmed_at: datetime | None


class FilePage(msgspec.Struct):
    """One page of a listing; pass `next_cursor` back as `cursor` for the next one."""

    items: list[FileOut]
    next_cursor: Annotated[
        str | None,
        msgspec.Meta(
            description="Opaque: pass it back as `cursor` unchanged, never parse or build one; "
            "null on the last page"
        ),
    ]


class DownloadOut(msgspec.Struct):
    """A presigned GET URL and its expiry."""

    url: str
    expires_at: datetime


class Health(msgspec.Struct):
    """A passing health check (a failing one is a problem response with the same `checks`)."""

    status: Literal["ok"]
    checks: dict[str, str] = {}


def file_out(file: FileRecord) -> FileOut:
    """The wire form of a file."""
    return FileOut(
        file_id=file.id,
        filename=file.filename,
        content_type=file.content_type,
        size=file.size,
        sha256=file.sha256,
        status=file.status,
        created_at=file.created_at,
        confirmed_at=file.confirmed_at,
    )


def ticket_out(ticket: UploadTicket) -> UploadTicketOut:
    """The wire form of an upload ticket."""
    return UploadTicketOut(
        file_id=ticket.file.id,
        status=ticket.file.status,
        upload=(
            UploadPut(url=ticket.url, headers=ticket.headers)
            if ticket.method == "PUT"
            else UploadForm(url=ticket.url, fields=ticket.fields)
        ),
        expires_at=ticket.expires_at,
    )


def download_out(download: Download) -> DownloadOut:
    """The wire form of a download."""
    return DownloadOut(url=download.url, expires_at=download.expires_at)
