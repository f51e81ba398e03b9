"""Wire types: every request and response body, as msgspec Structs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from backend.domain.files import Download
from backend.domain.multipart import SignedParts, StoredPart
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
    multipart: Annotated[
        bool | None,
        msgspec.Meta(
            description="true: send the file in parts; false: in one request (up to "
            "MAX_SINGLE_UPLOAD_BYTES); null (default): in parts above MULTIPART_THRESHOLD_BYTES. "
            "A multipart upload takes no `sha256`: each part's is given when signing it"
        ),
    ] = None


class UploadForm(msgspec.Struct, tag_field="method", tag="POST"):
    """POST `fields` as multipart/form-data to `url`, with the file as the last part."""

    url: str
    fields: dict[str, str]


class UploadPut(msgspec.Struct, tag_field="method", tag="PUT"):
    """PUT the file as the request body to `url`, sending exactly `headers` (all signed)."""

    url: str
    headers: dict[str, str]


class MultipartPlanOut(msgspec.Struct):
    """How to cut a multipart file: every part has `part_size` bytes except the last."""

    part_size: int
    part_count: int


class UploadTicketOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The answer to an upload request: `upload` for one request, `multipart` for parts."""

    file_id: uuid.UUID
    status: str
    upload: UploadForm | UploadPut | None = None
    multipart: Annotated[
        MultipartPlanOut | None,
        msgspec.Meta(description="Sign parts with POST /files/{id}/parts, then confirm"),
    ] = None
    expires_at: Annotated[
        datetime,
        msgspec.Meta(
            description="When the upload request stops working; for multipart, when S3 may "
            "abort the unfinished upload (part URLs have their own expiry)"
        ),
    ]


class PartsRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The parts to sign, each with the SHA-256 of its bytes."""

    part_numbers: Annotated[
        list[Annotated[int, msgspec.Meta(ge=1)]],
        msgspec.Meta(min_length=1, max_length=100, description="1 to 100 part numbers"),
    ]
    sha256: Annotated[
        dict[str, Sha256Hex],
        msgspec.Meta(description="Part number (as a string) -> its SHA-256; one per part"),
    ] = {}


class SignedPartOut(msgspec.Struct):
    """PUT the part's exact bytes to `url` with exactly `headers` (all signed)."""

    part_number: int
    url: str
    headers: dict[str, str]


class SignedPartsOut(msgspec.Struct):
    """Presigned part uploads and when they stop working."""

    parts: list[SignedPartOut]
    expires_at: datetime


class StoredPartOut(msgspec.Struct):
    """A part S3 holds."""

    part_number: int
    size: int
    etag: str


class StoredPartsOut(msgspec.Struct):
    """The parts S3 holds for a pending multipart upload, in order."""

    parts: list[StoredPartOut]


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
    multipart: MultipartPlanOut | None
    integrity: Annotated[
        str | None,
        msgspec.Meta(
            description="Ready files: what S3 checked the bytes against. sha256: the whole "
            "file's declared SHA-256; part_sha256: each part's declared SHA-256 (the whole "
            "file's was never computed, so sha256 is null); size: only size and type"
        ),
    ]
    composite_sha256: Annotated[
        str | None,
        msgspec.Meta(
            description="part_sha256 files: S3's composite checksum, base64(SHA-256 of the "
            "parts' SHA-256s)-<part count>"
        ),
    ]


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
        multipart=(
            MultipartPlanOut(file.part_size, -(-file.size // file.part_size))
            if file.part_size
            else None
        ),
        integrity=file.integrity,
        composite_sha256=file.composite_sha256,
    )


def ticket_out(ticket: UploadTicket) -> UploadTicketOut:
    """The wire form of an upload ticket."""
    if ticket.plan is not None:
        return UploadTicketOut(
            file_id=ticket.file.id,
            status=ticket.file.status,
            multipart=MultipartPlanOut(ticket.plan.part_size, ticket.plan.part_count),
            expires_at=ticket.expires_at,
        )
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


def signed_parts_out(signed: SignedParts) -> SignedPartsOut:
    """The wire form of signed parts."""
    return SignedPartsOut(
        parts=[SignedPartOut(p.part_number, p.url, p.headers) for p in signed.parts],
        expires_at=signed.expires_at,
    )


def stored_parts_out(parts: list[StoredPart]) -> StoredPartsOut:
    """The wire form of the parts S3 holds."""
    return StoredPartsOut(parts=[StoredPartOut(p.part_number, p.size, p.etag) for p in parts])


def download_out(download: Download) -> DownloadOut:
    """The wire form of a download."""
    return DownloadOut(url=download.url, expires_at=download.expires_at)
