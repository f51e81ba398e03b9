"""`/files`: announce an upload, confirm it, list, read, download and delete files."""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, QueryParameter, RawBody
from litestar.response import Redirect

from backend.domain.files import FileService
from backend.domain.uploads import UploadService
from backend.errors import (
    FileNotReady,
    IdempotencyKeyReused,
    IdempotencyKeyUsed,
    InvalidInput,
    NotFound,
    ObjectMissing,
    PartsInvalid,
    PartsMissing,
    QuotaExceeded,
    StorageBusy,
    StorageUnavailable,
    TooLarge,
    UnsupportedContentType,
    UploadExpired,
    UploadGone,
    UploadRejected,
)
from backend.http.auth import owner_of, require_api_key
from backend.http.bodies import decode
from backend.http.limits import BUDGET, UPLOADS
from backend.http.openapi import JSON_BODY, KEY_GUARD, WRITE_GUARD, documented
from backend.http.schemas import (
    DownloadOut,
    FileOut,
    FilePage,
    UploadRequest,
    UploadTicketOut,
    download_out,
    file_out,
    ticket_out,
)

# What an Idempotency-Key may hold: visible ASCII, as in the IETF draft's examples.
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def file_uuid(raw: str) -> uuid.UUID:
    """The file id in a path; a malformed one is a 404 like any unknown id."""
    # A malformed id is just another id that does not exist: same 404, same body.
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("No such file.") from None


class FilesController(Controller):
    """Thin handlers: parse, call the file rules (in the worker thread pool), shape the answer."""

    path = "/files"
    tags = ["files"]
    guards = [require_api_key]
    # Answers carry presigned URLs and private metadata: never to be stored by a cache.
    cache_control = CacheControlHeader(no_store=True)
    security = [{"apiKey": []}]

    @post(
        "/upload",
        status_code=201,
        sync_to_thread=True,
        operation_id="requestUpload",
        opt={BUDGET: UPLOADS},  # its own rate limit: RATE_LIMIT_UPLOADS_PER_MINUTE
        **documented(
            *WRITE_GUARD,
            *JSON_BODY,
            TooLarge,
            QuotaExceeded,
            UnsupportedContentType,
            IdempotencyKeyReused,
            IdempotencyKeyUsed,
            StorageUnavailable,
            StorageBusy,  # starting a multipart upload calls S3; signing a form does not
            body=UploadRequest,
        ),
    )
    def request_upload(
        self,
        body: RawBody,
        request: Request[Any, Any, Any],
        uploads: NamedDependency[UploadService],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                description="Any unique string of 1-255 visible ASCII characters: a retry "
                "with the same key and body within a day answers the same file, with a "
                "fresh form, instead of a second one",
            ),
        ] = None,
    ) -> UploadTicketOut:
        """Record a pending file and return the presigned POST form (or PUT) for its bytes."""
        owner_id = owner_of(request)
        if idempotency_key is not None and not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise InvalidInput("Idempotency-Key", "must be 1-255 visible ASCII characters")
        data = decode(body, UploadRequest)
        ticket = uploads.request_upload(
            owner_id,
            filename=data.filename,
            content_type=data.content_type,
            size=data.size,
            sha256=data.sha256,
            method=data.method,
            multipart=data.multipart,
            idempotency_key=idempotency_key,
        )
        return ticket_out(ticket)

    @post(
        "/{file_id:str}/confirm",
        status_code=200,
        sync_to_thread=True,
        operation_id="confirmUpload",
        **documented(
            *WRITE_GUARD,
            NotFound,
            ObjectMissing,
            PartsMissing,
            PartsInvalid,
            UploadGone,
            UploadExpired,
            UploadRejected,
            StorageUnavailable,
            StorageBusy,
        ),
    )
    def confirm(
        self,
        file_id: FromPath[str],
        request: Request[Any, Any, Any],
        uploads: NamedDependency[UploadService],
    ) -> FileOut:
        """Verify the uploaded object (assembling a multipart one first).

        200 when ready; 409 when absent, expired or parts are missing; 422 when it differs.
        """
        owner_id = owner_of(request)
        verdict = uploads.confirm(owner_id, file_uuid(file_id))
        # Raised after the commit: the rejection is recorded even though the answer is an error.
        if verdict.rejected:
            raise UploadRejected(
                "The uploaded object did not match the declaration and was deleted: "
                + "; ".join(str(m) for m in verdict.mismatches),
                [asdict(m) for m in verdict.mismatches],
            )
        return file_out(verdict.file)

    @get(
        "/",
        sync_to_thread=True,
        operation_id="listFiles",
        **documented(*KEY_GUARD, InvalidInput),
    )
    def list_files(
        self,
        request: Request[Any, Any, Any],
        files: NamedDependency[FileService],
        limit: Annotated[int, QueryParameter(description="Page size, 1-100")] = 50,
        cursor: Annotated[
            str | None,
            QueryParameter(
                description="Opaque: the next_cursor of the previous page, passed back as it "
                "came; omit for the first page"
            ),
        ] = None,
        status: Annotated[
            Literal["pending", "ready", "rejected"],
            QueryParameter(description="Files in this state"),
        ] = "ready",
        q: Annotated[str | None, QueryParameter(description="Filename contains (any case)")] = None,
    ) -> FilePage:
        """The caller's files, newest first."""
        owner_id = owner_of(request)
        page = files.page(owner_id, status=status, limit=limit, cursor_token=cursor, q=q)
        return FilePage(items=[file_out(f) for f in page.items], next_cursor=page.next_cursor)

    @get(
        "/{file_id:str}",
        sync_to_thread=True,
        operation_id="getFile",
        **documented(*KEY_GUARD, NotFound),
    )
    def get_file(
        self,
        file_id: FromPath[str],
        request: Request[Any, Any, Any],
        files: NamedDependency[FileService],
    ) -> FileOut:
        """One file."""
        owner_id = owner_of(request)
        file = files.get(owner_id, file_uuid(file_id))
        return file_out(file)

    @get(
        "/{file_id:str}/download",
        sync_to_thread=True,
        operation_id="downloadFile",
        **documented(
            *KEY_GUARD,
            InvalidInput,
            NotFound,
            FileNotReady,
            StorageUnavailable,
            redirect="With `redirect=true`: the presigned URL, in Location.",
        ),
    )
    def download(
        self,
        file_id: FromPath[str],
        request: Request[Any, Any, Any],
        files: NamedDependency[FileService],
        disposition: Annotated[
            Literal["attachment", "inline"],
            QueryParameter(description="inline is honoured only for types safe to display"),
        ] = "attachment",
        redirect: Annotated[bool, QueryParameter(description="answer 307 to the URL")] = False,
    ) -> Response[DownloadOut]:
        """A short-lived download URL, or a 307 to it with `redirect=true`."""
        owner_id = owner_of(request)
        download = files.download(owner_id, file_uuid(file_id), disposition)
        if redirect:
            # A Redirect is a Response too: the annotation names the 200 so the document shows
            # its schema, and the 307 is declared in `responses`.
            return Redirect(download.url, status_code=307)
        return Response(download_out(download))

    @delete(
        "/{file_id:str}",
        status_code=204,
        sync_to_thread=True,
        operation_id="deleteFile",
        **documented(*WRITE_GUARD, NotFound, StorageUnavailable, StorageBusy),
    )
    def delete_file(
        self,
        file_id: FromPath[str],
        request: Request[Any, Any, Any],
        files: NamedDependency[FileService],
    ) -> None:
        """Delete the object and the record."""
        owner_id = owner_of(request)
        files.delete(owner_id, file_uuid(file_id))
