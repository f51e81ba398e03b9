"""Moving one file: hash, announce, send to S3, confirm; download, verify, rename."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from requests_toolbelt import MultipartEncoder, MultipartEncoderMonitor

from uploader import parts
from uploader.parts import MULTIPART_ABOVE
from uploader.progress import Bar, Bars
from uploader.transport import (
    TIMEOUT,
    Api,
    Failure,
    file_route,
    network_failure,
    retrying,
    s3_failure,
)

CHUNK = 1024 * 1024


# guess_type() reports compression as an "encoding"; the bytes on disk are the compressed ones.
COMPRESSED_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
}


@dataclass
class Result:
    """The outcome for one file, as --json prints it."""

    file: str
    file_id: str | None = None
    status: str = "failed"
    error: dict[str, str] | None = None


def guess_content_type(path: Path) -> str:
    """The media type the file's name suggests, application/octet-stream when unknown."""
    kind, encoding = mimetypes.guess_type(path.name)
    if encoding:
        return COMPRESSED_TYPES.get(encoding, "application/octet-stream")
    return kind or "application/octet-stream"


def sha256_of(path: Path, bar: Bar) -> str:
    """The file's SHA-256 (hex), read in chunks: memory use does not grow with the file."""
    digest = hashlib.sha256()
    done = 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            bar.show(done)
    return digest.hexdigest()


def send_form(http: requests.Session, form: dict[str, Any], path: Path, bar: Bar) -> None:
    """POST the form's fields, then the file, to S3, streamed from disk.

    MultipartEncoder knows the body's length up front, so the request carries an explicit
    Content-Length: AWS refuses chunked uploads (local S3 servers may not).
    """
    fields: dict[str, str] = form["fields"]
    file_type = fields.get("Content-Type", "application/octet-stream")
    with path.open("rb") as stream:
        encoder = MultipartEncoder([*fields.items(), ("file", (path.name, stream, file_type))])
        body = MultipartEncoderMonitor(encoder, lambda monitor: bar.show(monitor.bytes_read))
        bar.start(f"uploading {path.name}", body.len)
        headers = {"Content-Type": body.content_type, "Content-Length": str(body.len)}
        try:
            response = http.post(form["url"], data=body, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise network_failure(exc, form["url"]) from exc
    if response.status_code not in {200, 201, 204}:
        raise s3_failure(response)


def has_arrived(api: Api, file_id: str) -> bool:
    """Ask the API (by confirming) whether the bytes reached the bucket."""
    try:
        api.call("POST", f"{file_route(file_id)}/confirm")
    except Failure as exc:
        if exc.code == "object_missing":
            return False
        raise
    return True


def send(api: Api, ticket: dict[str, Any], path: Path, bar: Bar) -> None:
    """Send the bytes with the ticket's form, again after transient failures."""

    def attempt() -> None:
        try:
            send_form(api.http, ticket["upload"], path, bar)
        except Failure as exc:
            # The answer may be lost after the bytes arrived: ask before sending them again,
            # so that a versioned bucket does not keep a second copy.
            if not (exc.transient and has_arrived(api, ticket["file_id"])):
                raise

    retrying(attempt, f"upload of {path}")


def upload_file(
    api: Api, path: Path, content_type: str, bars: Bars, *, jobs: int = 4,
    resume: str | None = None,
) -> Result:  # fmt: skip
    """Hash, announce, send and confirm one file; its failures end up in the Result.

    Above MULTIPART_ABOVE (or with `resume`) the file goes in parts, `jobs` at a time.
    """
    result = Result(file=str(path))
    try:
        size = path.stat().st_size
        if resume or size > MULTIPART_ABOVE:
            return _upload_in_parts(api, path, content_type, bars, jobs, resume, result)
        with bars.bar(f"hashing {path.name}", size) as bar:
            declared = {
                "filename": path.name,
                "content_type": content_type,
                "size": size,
                "sha256": sha256_of(path, bar),
                # One request, checked by its whole SHA-256 (larger files go in parts).
                "multipart": False,
            }
            ticket = api.call("POST", "/files/upload", expect=201, json=declared)
            result.file_id = ticket["file_id"]
            send(api, ticket, path, bar)
            # A confirm lost in transit is retried with this same file id, never re-uploaded.
            confirmed = api.call("POST", f"{file_route(ticket['file_id'])}/confirm")
        result.status = confirmed["status"]
    except Failure as exc:
        result.error = exc.as_json()
    except OSError as exc:
        result.error = {"code": "file_unreadable", "detail": f"{path}: {exc.strerror or exc}"}
    return result


def _upload_in_parts(
    api: Api, path: Path, content_type: str, bars: Bars, jobs: int, resume: str | None,
    result: Result,
) -> Result:  # fmt: skip
    """Start or resume the multipart upload, send the missing parts, confirm."""
    try:
        size = path.stat().st_size
        declared = {"filename": path.name, "content_type": content_type, "size": size}
        with bars.bar(f"uploading {path.name}", size) as bar:
            file_id, plan, held = parts.start_or_resume(api, path, declared, resume)
            result.file_id = file_id
            parts.send_parts(api, file_id, path, plan, held, jobs, bar)
            confirmed = api.call("POST", f"{file_route(file_id)}/confirm")
        parts.forget(path)
        result.status = confirmed["status"]
    except Failure as exc:
        result.error = exc.as_json()
    except OSError as exc:
        result.error = {"code": "file_unreadable", "detail": f"{path}: {exc.strerror or exc}"}
    return result


def download_target(output: str | None, file: dict[str, Any]) -> Path:
    """Where the download goes: -o as given (a directory gets the file's own name)."""
    name = Path(file["filename"]).name  # only the last part: never write outside the target
    if name in {"", ".", ".."}:
        name = file["file_id"]
    if output is None:
        target = Path(name)
        if target.exists():
            raise Failure("file_exists", f"{target} exists; name the target with -o to replace it")
        return target
    path = Path(output)
    return path / name if path.is_dir() else path


def fetch(api: Api, file: dict[str, Any], target: Path, bar: Bar) -> None:
    """Stream the file into a temporary file beside `target`; verify, then rename into place."""
    link = api.call("GET", f"{file_route(file['file_id'])}/download")["url"]
    try:
        response = api.http.get(link, stream=True, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise network_failure(exc, link) from exc
    with response:
        if response.status_code != 200:
            raise s3_failure(response)
        bar.start(f"downloading {target.name}", file["size"])
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        partial = Path(name)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                try:
                    for chunk in response.iter_content(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.show(out.tell())
                except requests.RequestException as exc:
                    raise network_failure(exc, link) from exc
                received = out.tell()
            verify(file, received, digest.hexdigest())
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)


def verify(file: dict[str, Any], size: int, sha256: str) -> None:
    """Refuse bytes that differ from the file's record (its SHA-256 when it has one)."""
    if size != file["size"]:
        raise Failure("size_mismatch", f"received {size} bytes, expected {file['size']}")
    if file["sha256"] and sha256 != file["sha256"]:
        raise Failure("checksum_mismatch", "the downloaded bytes' SHA-256 differs from the record")
