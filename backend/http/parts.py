"""`/files/{id}/parts`: sign the parts of a multipart upload, and list what S3 holds."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, RawBody

from backend.domain.multipart import MultipartService
from backend.errors import (
    FileNotPending,
    NotFound,
    NotMultipart,
    StorageBusy,
    StorageUnavailable,
    UploadGone,
)
from backend.http.auth import owner_of, require_api_key
from backend.http.bodies import decode
from backend.http.files import file_uuid
from backend.http.openapi import JSON_BODY, KEY_GUARD, WRITE_GUARD, documented
from backend.http.schemas import (
    PartsRequest,
    SignedPartsOut,
    StoredPartsOut,
    signed_parts_out,
    stored_parts_out,
)


class PartsController(Controller):
    """Thin handlers over MultipartService; another owner's file is a 404 like a missing one."""

    path = "/files"
    tags = ["files"]
    guards = [require_api_key]
    cache_control = CacheControlHeader(no_store=True)  # presigned URLs: never cached
    security = [{"apiKey": []}]

    @post(
        "/{file_id:str}/parts",
        status_code=200,
        sync_to_thread=True,
        operation_id="signParts",
        **documented(
            *WRITE_GUARD,
            *JSON_BODY,
            NotFound,
            NotMultipart,
            FileNotPending,
            StorageUnavailable,
            body=PartsRequest,
        ),
    )
    def sign_parts(
        self,
        file_id: FromPath[str],
        body: RawBody,
        request: Request[Any, Any, Any],
        multipart: NamedDependency[MultipartService],
    ) -> SignedPartsOut:
        """Presigned PUTs for up to 100 parts, each bound to its number, length and SHA-256."""
        owner_id = owner_of(request)
        data = decode(body, PartsRequest)
        signed = multipart.sign(
            owner_id, file_uuid(file_id), part_numbers=data.part_numbers, sha256=data.sha256
        )
        return signed_parts_out(signed)

    @get(
        "/{file_id:str}/parts",
        sync_to_thread=True,
        operation_id="listParts",
        **documented(
            *KEY_GUARD,
            NotFound,
            NotMultipart,
            FileNotPending,
            UploadGone,
            StorageUnavailable,
            StorageBusy,
        ),
    )
    def list_parts(
        self,
        file_id: FromPath[str],
        request: Request[Any, Any, Any],
        multipart: NamedDependency[MultipartService],
    ) -> StoredPartsOut:
        """The parts S3 already holds, to resume an upload by sending only the others."""
        owner_id = owner_of(request)
        return stored_parts_out(multipart.stored_parts(owner_id, file_uuid(file_id)))
