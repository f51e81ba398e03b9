"""Talking to the API and to S3: one-line failures, retries with backoff, the API client."""

from __future__ import annotations

import random
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests

TIMEOUT = (10, 120)  # seconds: connect, then each read


ATTEMPTS = 5


MAX_PAUSE = 10.0


# S3 error codes that mean "try again", whatever the HTTP status they came with.
TRANSIENT_S3_CODES = frozenset(
    {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"}
)


T = TypeVar("T")


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
