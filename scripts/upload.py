#!/usr/bin/env python3
"""Stowage from the terminal: upload files straight to S3, then list, inspect, download, delete.

    upload.py upload FILE... [--jobs N] [--content-type TYPE]
    upload.py list [--status pending|ready|rejected] [--q TEXT]
    upload.py info ID
    upload.py download ID [-o PATH]
    upload.py delete ID

Every command also takes --api URL (or FILES_API_URL; default http://127.0.0.1:8000),
--key KEY (or FILES_API_KEY, which is better: arguments are visible to other users of the
machine) and --json for one machine-readable JSON document on stdout.

Exit codes: 0 success, 1 a file or request failed, 2 usage error.
Needs the client extras: `pip install -e '.[client]'` (requests, requests-toolbelt, rich).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import os
import random
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
from requests_toolbelt import MultipartEncoder, MultipartEncoderMonitor
from rich.console import Console
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

DEFAULT_API = "http://127.0.0.1:8000"
CHUNK = 1024 * 1024
TIMEOUT = (10, 120)  # seconds: connect, then each read
ATTEMPTS = 5
MAX_PAUSE = 10.0
# S3 error codes that mean "try again", whatever the HTTP status they came with.
TRANSIENT_S3_CODES = frozenset(
    {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"}
)
# guess_type() reports compression as an "encoding"; the bytes on disk are the compressed ones.
COMPRESSED_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
}

T = TypeVar("T")


class UsageError(Exception):
    """The command line itself is wrong: exit code 2, nothing was sent."""


class Failure(Exception):
    """An API, S3 or network error, shown as one line: a stable code and a human detail."""

    def __init__(
        self, code: str, detail: str, *, transient: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.transient = transient
        self.retry_after = retry_after

    def as_json(self) -> dict[str, str]:
        """The error as --json prints it."""
        return {"code": self.code, "detail": self.detail}


def _transient_status(status: int) -> bool:
    return status >= 500 or status == 429


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def api_failure(response: requests.Response) -> Failure:
    """The API's problem+json answer as a Failure (any other answer still makes one line)."""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if isinstance(problem, dict) and "code" in problem:
        code, detail = str(problem["code"]), str(problem.get("detail", ""))
    else:
        code, detail = f"http_{response.status_code}", f"the API answered {response.reason}"
    return Failure(
        code,
        detail,
        transient=_transient_status(response.status_code),
        retry_after=_retry_after(response),
    )


def parse_s3_error(body: str) -> tuple[str, str] | None:
    """`(Code, Message)` from an S3 XML error document, or None when the body is not one."""
    try:
        # The body comes from the S3 endpoint the API chose, and expat (>= 2.4.1, bundled with
        # every supported Python) neither fetches external entities nor expands entity bombs.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError:
        return None
    if root.tag.rsplit("}", 1)[-1] != "Error":
        return None
    namespace = root.tag[: -len("Error")]
    code = root.findtext(f"{namespace}Code") or "UnknownError"
    message = root.findtext(f"{namespace}Message") or "no message"
    return code, message


def s3_failure(response: requests.Response) -> Failure:
    """S3's XML error answer as a Failure; SlowDown and 5xx are worth retrying."""
    parsed = parse_s3_error(response.text)
    if parsed is None:
        code, detail = f"s3_http_{response.status_code}", f"S3 answered {response.reason}"
    else:
        code, detail = parsed[0], f"{parsed[1]} (S3, HTTP {response.status_code})"
    return Failure(
        code,
        detail,
        transient=code in TRANSIENT_S3_CODES or _transient_status(response.status_code),
        retry_after=_retry_after(response),
    )


def network_failure(exc: requests.RequestException, url: str) -> Failure:
    """A request that got no answer; connection trouble and timeouts are worth retrying."""
    # Only the host: presigned URLs carry their signature in the query string.
    host = urlsplit(url).netloc
    inner: BaseException = exc
    while True:  # requests wraps urllib3's error, which wraps the socket's: show the last one
        cause = (
            getattr(inner, "reason", None)
            or inner.__cause__
            or (inner.args[-1] if inner.args else None)
        )
        if not isinstance(cause, BaseException):
            break
        inner = cause
    reason = inner.strerror if isinstance(inner, OSError) and inner.strerror else str(inner)
    # A body cut off mid-stream (ChunkedEncodingError) is as transient as a reset connection.
    transient = isinstance(
        exc,
        requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError,
    ) and not isinstance(exc, requests.exceptions.SSLError)
    return Failure(
        "connection_failed", f"{host}: {reason or type(inner).__name__}", transient=transient
    )


def retrying(action: Callable[[], T], what: str) -> T:
    """Run `action`; while it fails transiently, run it again after a growing pause."""
    attempt = 1
    while True:
        try:
            return action()
        except Failure as exc:
            if not exc.transient or attempt == ATTEMPTS:
                raise
            pause = min(MAX_PAUSE, exc.retry_after or 0.5 * 2 ** (attempt - 1))
            pause *= random.uniform(0.75, 1.25)  # noqa: S311 - jitter, not cryptography
            note(f"note: {what}: {exc}; retrying in {pause:.1f} s ({attempt}/{ATTEMPTS - 1})")
            time.sleep(pause)
            attempt += 1


def note(message: str) -> None:
    """A line for the person at the terminal, on stderr so stdout stays parseable."""
    print(message, file=sys.stderr, flush=True)


class BearerAuth(requests.auth.AuthBase):
    """Adds the API key to API requests only (S3 requests are signed by their URL or form).

    An auth object rather than a session header, so a ~/.netrc entry cannot replace it.
    """

    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._key}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<hidden>)"


class Api:
    """The Stowage API for one key. Safe to share between threads: each gets its own session."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = BearerAuth(key)
        self._local = threading.local()

    @property
    def http(self) -> requests.Session:
        """This thread's HTTP session (keeps connections open between requests)."""
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        session: requests.Session = self._local.session
        return session

    def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        """One API request, retried while it fails transiently; the decoded JSON answer."""
        url = self.base_url + path

        def attempt() -> Any:
            try:
                response = self.http.request(
                    method, url, auth=self._auth, timeout=TIMEOUT, **kwargs
                )
            except requests.RequestException as exc:
                raise network_failure(exc, url) from exc
            if response.status_code != expect:
                raise api_failure(response)
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise Failure("bad_response", f"{url} did not answer with JSON") from None

        return retrying(attempt, f"{method} {path}")


def file_route(file_id: str) -> str:
    """The API path of a file; the id is quoted so it can never reach another route."""
    return f"/files/{quote(file_id, safe='')}"


@dataclass
class Bar:
    """One transfer's progress bar."""

    progress: Progress
    task: TaskID

    def start(self, label: str, total: int) -> None:
        """Start (or restart, on a retry) counting towards `total` bytes."""
        self.progress.reset(self.task, description=label, total=total)

    def show(self, completed: int) -> None:
        """Move the bar to `completed` bytes."""
        self.progress.update(self.task, completed=completed)


class Bars:
    """Progress bars on stderr, one per transfer, or none when stdout is not a terminal."""

    def __init__(self) -> None:
        console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not (sys.stdout.isatty() and console.is_terminal),
        )

    @contextmanager
    def bar(self, label: str, total: int) -> Iterator[Bar]:
        """A bar for the duration of one file's transfer."""
        task = self.progress.add_task(label, total=total)
        try:
            yield Bar(self.progress, task)
        finally:
            self.progress.remove_task(task)


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


def upload_file(api: Api, path: Path, content_type: str, bars: Bars) -> Result:
    """Hash, announce, send and confirm one file; its failures end up in the Result."""
    result = Result(file=str(path))
    try:
        size = path.stat().st_size
        with bars.bar(f"hashing {path.name}", size) as bar:
            declared = {
                "filename": path.name,
                "content_type": content_type,
                "size": size,
                "sha256": sha256_of(path, bar),
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


def command_upload(args: argparse.Namespace, api: Api, bars: Bars) -> int:
    """Upload every FILE, `--jobs` at a time; one line (or one JSON entry) per file."""
    paths = [Path(name) for name in args.files]
    for path in paths:
        if not path.is_file():
            raise UsageError(f"not a file: {path}")
    results: dict[Path, Result] = {}
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = {
            pool.submit(
                upload_file, api, path, args.content_type or guess_content_type(path), bars
            ): path
            for path in paths
        }
        for future in as_completed(futures):
            result = results[futures[future]] = future.result()
            if result.error:
                note(f"error: {result.file}: {result.error['code']}: {result.error['detail']}")
            elif not args.json:
                print(f"uploaded {result.file} -> {result.file_id}", flush=True)
    finally:
        # On Ctrl-C, files still queued must not start; a normal end has nothing left anyway.
        pool.shutdown(wait=False, cancel_futures=True)
    if args.json:
        print_json([asdict(results[path]) for path in paths])
    return 1 if any(result.error for result in results.values()) else 0


def command_list(args: argparse.Namespace, api: Api, _bars: Bars) -> int:
    """Every file matching the filters (all pages), newest first."""
    params: dict[str, Any] = {"limit": 100}
    if args.status:
        params["status"] = args.status
    if args.q:
        params["q"] = args.q
    items: list[dict[str, Any]] = []
    while True:
        page = api.call("GET", "/files", params=params)
        items.extend(page["items"])
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    if args.json:
        print_json(items)
        return 0
    for item in items:
        size = decimal(item["size"])
        print(f"{item['file_id']}  {item['status']:<8}  {size:>9}  {item['filename']}")
    return 0


def command_info(args: argparse.Namespace, api: Api, _bars: Bars) -> int:
    """One file's record."""
    file = api.call("GET", file_route(args.id))
    if args.json:
        print_json(file)
    else:
        for name, value in file.items():
            print(f"{name + ':':<14}{'-' if value is None else value}")
    return 0


def command_delete(args: argparse.Namespace, api: Api, _bars: Bars) -> int:
    """Delete a file: its bytes and its record."""
    api.call("DELETE", file_route(args.id), expect=204)
    if args.json:
        print_json({"file_id": args.id, "status": "deleted"})
    else:
        print(f"deleted {args.id}")
    return 0


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


def command_download(args: argparse.Namespace, api: Api, bars: Bars) -> int:
    """Download a file to disk, verified against its SHA-256 before it gets its name."""
    file = api.call("GET", file_route(args.id))
    target = download_target(args.output, file)
    try:
        with bars.bar(f"downloading {target.name}", file["size"]) as bar:
            retrying(lambda: fetch(api, file, target, bar), f"download of {target}")
    except OSError as exc:
        raise Failure("write_failed", f"{target}: {exc.strerror or exc}") from exc
    if args.json:
        print_json({"file_id": file["file_id"], "path": str(target), "sha256": file["sha256"]})
    else:
        print(f"downloaded {file['file_id']} -> {target}")
    return 0


def print_json(document: Any) -> None:
    """One JSON document on stdout."""
    print(json.dumps(document, indent=2, ensure_ascii=False), flush=True)


def positive(text: str) -> int:
    """argparse type: an integer of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The command line: a subcommand each, all sharing --api, --key and --json."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--api",
        default=os.environ.get("FILES_API_URL", DEFAULT_API),
        help="API base URL (env FILES_API_URL; default %(default)s)",
    )
    common.add_argument(
        "--key", default=os.environ.get("FILES_API_KEY"), help="API key (env FILES_API_KEY)"
    )
    common.add_argument("--json", action="store_true", help="print one JSON document")

    parser = argparse.ArgumentParser(
        prog="upload.py", description="Upload files to Stowage and manage them."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    upload = commands.add_parser("upload", parents=[common], help="upload files")
    upload.add_argument("files", nargs="+", metavar="FILE")
    upload.add_argument("--jobs", "-j", type=positive, default=4, help="files sent at once")
    upload.add_argument("--content-type", help="media type for every FILE (default: guessed)")
    upload.set_defaults(run=command_upload)

    listing = commands.add_parser("list", parents=[common], help="list files, newest first")
    listing.add_argument("--status", choices=["pending", "ready", "rejected"])
    listing.add_argument("--q", help="filename contains (any case)")
    listing.set_defaults(run=command_list)

    for name, run, summary in [
        ("info", command_info, "show one file"),
        ("download", command_download, "download a file, verified"),
        ("delete", command_delete, "delete a file"),
    ]:
        command = commands.add_parser(name, parents=[common], help=summary)
        command.add_argument("id", metavar="ID")
        command.set_defaults(run=run)
        if name == "download":
            command.add_argument("-o", "--output", metavar="PATH", help="file or directory")
    return parser


def api_from(args: argparse.Namespace) -> Api:
    """The API the arguments point at, or a UsageError saying what is missing."""
    if not args.key:
        raise UsageError("an API key is needed: set FILES_API_KEY or pass --key")
    if urlsplit(args.api).scheme not in {"http", "https"}:
        raise UsageError(f"--api must be an http:// or https:// URL, not {args.api!r}")
    return Api(args.api, args.key)


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    bars = Bars()
    try:
        api = api_from(args)
        with bars.progress:
            return int(args.run(args, api, bars))
    except UsageError as exc:
        note(f"{parser.prog}: error: {exc}")
        return 2
    except Failure as exc:
        note(f"error: {exc}")
        if args.json:
            print_json({"error": exc.as_json()})
        return 1
    except KeyboardInterrupt:
        note("interrupted; files not yet confirmed stay pending")
        sys.stdout.flush()
        # Skip waiting for the upload threads still running, which a normal exit would do.
        os._exit(130)


if __name__ == "__main__":
    sys.exit(main())
