"""The S3 adapter: every S3 call the service makes, with botocore errors translated here."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from backend.bulkhead import Bulkhead
from backend.errors import StorageBusy, StorageUnavailable
from backend.metrics import Metrics
from backend.settings import Settings
from backend.storage_forms import PostForms

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

# S3 answers HEAD on a missing key with 403 unless the caller may list the whole bucket, and
# the service's role may list only its own key prefix. Under that prefix it may read every
# object, so a 403 there means "not there" (bad credentials already fail the readiness check).
_HEAD_MISSING_CODES = frozenset(
    {"404", "NoSuchKey", "NotFound", "NoSuchVersion", "403", "Forbidden"}
)


# HeadObject members that only an unsigned form field or PUT header can set, by the name a
# mismatch reports them under. (Expires also comes as ExpiresString, the header's own text.)
_UNSIGNED_MEMBERS = (
    ("ContentEncoding", "content_encoding"),
    ("CacheControl", "cache_control"),
    ("ContentDisposition", "content_disposition"),
    ("ContentLanguage", "content_language"),
    ("Expires", "expires"),
    ("WebsiteRedirectLocation", "website_redirect_location"),
)


@dataclass(frozen=True)
class PresignedPost:
    """A browser-ready form: POST `fields` (then the file) as multipart/form-data to `url`."""

    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class PresignedPut:
    """A single PUT of the file as the request body, to `url`, with exactly these `headers`."""

    url: str
    headers: dict[str, str]


@dataclass(frozen=True)
class ObjectFacts:
    """What the bucket says about an object.

    `unsigned` names what the object carries that no upload we sign sets (an encoding, cache
    headers, user metadata, tags...), with its value: an S3 server that accepts unsigned form
    fields or PUT headers stores them, and downloads would then repeat them.
    """

    size: int
    content_type: str | None
    sha256_b64: str | None
    etag: str | None
    version_id: str | None
    unsigned: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredVersion:
    """One version (or delete marker) of an object, as a bucket listing shows it."""

    key: str
    version_id: str
    size: int
    last_modified: datetime
    delete_marker: bool = False


@dataclass(frozen=True)
class VersionPage:
    """One page of a versions listing, in key order; the markers continue it (None: done)."""

    versions: list[StoredVersion]
    next_key_marker: str | None
    next_version_marker: str | None


def create_client(settings: Settings, session: boto3.session.Session | None = None) -> S3Client:
    """One S3 client per process: SigV4, standard retries, explicit timeouts.

    Credentials come from boto3's default chain (the instance role on EC2, env vars locally)
    unless a session with its own credentials is given.
    """
    config = Config(
        signature_version="s3v4",
        region_name=settings.storage.region,
        retries={"mode": "standard", "total_max_attempts": settings.storage.max_attempts},
        connect_timeout=settings.storage.connect_timeout_seconds,
        read_timeout=settings.storage.read_timeout_seconds,
        # Path style for S3-compatible servers on localhost; virtual hosts on AWS.
        s3={"addressing_style": "path" if settings.storage.endpoint_url else "virtual"},
        max_pool_connections=settings.storage.max_concurrent_calls,
    )
    client: S3Client = (session or boto3.session.Session()).client(
        "s3", endpoint_url=settings.storage.endpoint_url, config=config
    )
    return client


def sha256_hex_to_b64(sha256_hex: str) -> str:
    """S3 wants checksums base64-encoded; the API speaks hex."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def sha256_b64_to_hex(sha256_b64: str) -> str | None:
    """The hex form of a full-object base64 SHA-256, or None for composite (multipart) values."""
    try:
        raw = base64.b64decode(sha256_b64, validate=True)
    except ValueError:
        return None
    return raw.hex() if len(raw) == 32 else None


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _gated(call: Callable[Concatenate[Storage, _P], _R]) -> Callable[Concatenate[Storage, _P], _R]:
    """Run a method that talks to S3 inside the storage bulkhead (signing needs no slot)."""

    def gated(self: Storage, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self.calls.enter():
            if self.metrics is None:
                return call(self, *args, **kwargs)
            with self.metrics.s3_call(call.__name__):
                return call(self, *args, **kwargs)

    functools.update_wrapper(gated, call)
    return gated


def _busy() -> StorageBusy:
    return StorageBusy("Object storage is busy with as many calls as allowed; retry shortly.")


class Storage:
    """The bucket, as the service uses it.

    At most `max_concurrent_calls` S3 calls run at once (see backend/bulkhead.py); botocore's
    timeouts and attempts bound how long each one can take.
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        max_concurrent_calls: int = 16,
        metrics: Metrics | None = None,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.forms = PostForms(client)
        self.calls = Bulkhead(max_concurrent_calls, _busy)
        self.metrics = metrics

    def presign_post(
        self,
        key: str,
        *,
        size: int,
        content_type: str,
        sha256_hex: str | None,
        expires_in: int,
    ) -> PresignedPost:
        """A POST form whose policy pins key, exact size, content type and (if given) SHA-256.

        botocore adds the bucket, key and signing fields to the policy itself; every other field
        we return gets an exact-match condition, so nothing in the form can be changed.
        """
        fields: dict[str, str] = {"Content-Type": content_type}
        conditions: list[Any] = [
            {"Content-Type": content_type},
            ["content-length-range", size, size],
        ]
        if sha256_hex is not None:
            checksum = sha256_hex_to_b64(sha256_hex)
            fields["x-amz-checksum-algorithm"] = "SHA256"
            fields["x-amz-checksum-sha256"] = checksum
            conditions.append({"x-amz-checksum-algorithm": "SHA256"})
            conditions.append({"x-amz-checksum-sha256": checksum})
        try:
            post = self.forms.sign(
                self.bucket, key, fields=fields, conditions=conditions, expires_in=expires_in
            )
        # Without credentials botocore's POST signer fails with AttributeError (its GET signer
        # raises NoCredentialsError); either way the service cannot sign right now.
        except (BotoCoreError, AttributeError) as exc:
            raise StorageUnavailable(
                "Cannot sign the upload: storage credentials missing."
            ) from exc
        return PresignedPost(url=post["url"], fields={k: str(v) for k, v in post["fields"].items()})

    def presign_put(
        self,
        key: str,
        *,
        size: int,
        content_type: str,
        sha256_hex: str | None,
        expires_in: int,
    ) -> PresignedPut:
        """A PutObject URL whose signature covers the key, exact length, type and SHA-256.

        Every one of the returned headers is a signed header: sending another value (or, for
        the checksum, leaving it out) breaks the signature, so S3 refuses the request.
        """
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "ContentType": content_type,
            "ContentLength": size,
        }
        headers = {"Content-Type": content_type, "Content-Length": str(size)}
        if sha256_hex is not None:
            params["ChecksumSHA256"] = headers["x-amz-checksum-sha256"] = sha256_hex_to_b64(
                sha256_hex
            )
        try:
            url = self.client.generate_presigned_url(
                "put_object", Params=params, ExpiresIn=expires_in
            )
        except BotoCoreError as exc:
            raise StorageUnavailable(
                "Cannot sign the upload: storage credentials missing."
            ) from exc
        return PresignedPut(url=url, headers=headers)

    def presign_get(
        self,
        key: str,
        *,
        version_id: str | None,
        content_type: str,
        content_disposition: str,
        expires_in: int,
    ) -> str:
        """A GET URL for exactly this object version, with the response headers fixed."""
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentType": content_type,
            "ResponseContentDisposition": content_disposition,
            # Confirm refuses objects with an encoding of their own; this pins the answer to
            # the bytes as stored (the verified ones) even if a lenient S3 server kept one.
            "ResponseContentEncoding": "identity",
        }
        if version_id:
            params["VersionId"] = version_id
        try:
            return self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_in
            )
        except BotoCoreError as exc:
            raise StorageUnavailable(
                "Cannot sign the download: storage credentials missing."
            ) from exc

    @_gated
    def head(self, key: str) -> ObjectFacts | None:
        """Facts about the object at `key` (checksum included), or None when there is none."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if error_code(exc) in _HEAD_MISSING_CODES:
                return None
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        version = head.get("VersionId")
        unsigned = {
            name: str(head.get(f"{member}String", head.get(member)))
            for member, name in _UNSIGNED_MEMBERS
            if head.get(member)
        }
        if metadata := head.get("Metadata"):
            unsigned["metadata"] = ", ".join(f"x-amz-meta-{name}" for name in sorted(metadata))
        if tags := head.get("TagCount"):
            unsigned["tagging"] = f"{tags} tag(s)"
        return ObjectFacts(
            size=head["ContentLength"],
            content_type=head.get("ContentType"),
            sha256_b64=head.get("ChecksumSHA256"),
            etag=head.get("ETag"),
            version_id=None if version in (None, "null") else version,
            unsigned=unsigned,
        )

    @_gated
    def purge(self, key: str) -> None:
        """Destroy every version and delete marker of `key`, leaving nothing to restore.

        A form stays usable until it expires, so a key can hold more than the version that was
        verified; deleting a file means deleting all of them.
        """
        try:
            self._delete_versions(key, self._version_ids(key))
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc

    @_gated
    def prune(self, key: str, keep_version_id: str) -> int:
        """Destroy every version and delete marker of `key` but one; how many went.

        What a reused form added after the verified version goes, so the verified version is
        the current one again.
        """
        try:
            doomed = [v for v in self._version_ids(key) if v != keep_version_id]
            self._delete_versions(key, doomed)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        return len(doomed)

    @_gated
    def list_versions(
        self,
        prefix: str,
        *,
        key_marker: str | None = None,
        version_marker: str | None = None,
        max_keys: int = 1000,
    ) -> VersionPage:
        """One page of every version and delete marker under `prefix`, in key order."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if key_marker is not None:
            params["KeyMarker"] = key_marker
            params["VersionIdMarker"] = version_marker or ""
        try:
            answer = self.client.list_object_versions(**params)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        versions = [
            StoredVersion(v["Key"], v["VersionId"], v.get("Size", 0), v["LastModified"])
            for v in answer.get("Versions", [])
            if "Key" in v and "VersionId" in v and "LastModified" in v
        ] + [
            StoredVersion(m["Key"], m["VersionId"], 0, m["LastModified"], delete_marker=True)
            for m in answer.get("DeleteMarkers", [])
            if "Key" in m and "VersionId" in m and "LastModified" in m
        ]
        # The two lists come apart; put each key's entries together, newest first, as S3 does.
        versions.sort(key=lambda v: v.last_modified, reverse=True)
        versions.sort(key=lambda v: v.key.encode())
        truncated = answer.get("IsTruncated", False)
        return VersionPage(
            versions,
            answer.get("NextKeyMarker") if truncated else None,
            answer.get("NextVersionIdMarker") if truncated else None,
        )

    def _version_ids(self, key: str) -> list[str]:
        paginator = self.client.get_paginator("list_object_versions")
        return [
            entry["VersionId"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=key)
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            if entry.get("Key") == key and entry.get("VersionId")
        ]

    def _delete_versions(self, key: str, version_ids: list[str]) -> None:
        doomed: list[ObjectIdentifierTypeDef] = [
            {"Key": key, "VersionId": version_id} for version_id in version_ids
        ]
        for start in range(0, len(doomed), 1000):  # DeleteObjects takes 1000 at a time
            answer = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": doomed[start : start + 1000], "Quiet": True},
            )
            if answer.get("Errors"):
                failed = answer["Errors"][0]
                raise StorageUnavailable(
                    f"Object storage kept a version of the file ({failed.get('Code', '?')})."
                )

    @_gated
    def check(self, prefix: str) -> None:
        """Prove the bucket answers and keeps versions (downloads pin the verified one)."""
        try:
            self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
            versioning = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        if versioning != "Enabled":
            raise StorageUnavailable(
                "Bucket versioning is off; without it a verified file's bytes could be replaced."
            )


def error_code(exc: ClientError) -> str:
    """The S3 error code of a botocore ClientError ("NoSuchKey", "403", ...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def _unavailable(exc: Exception) -> StorageUnavailable:
    if isinstance(exc, ClientError):
        return StorageUnavailable(f"Object storage refused the request ({error_code(exc)}).")
    return StorageUnavailable("Object storage is unreachable; try again shortly.")
