"""A hung S3 slows only the requests that need S3: they fail fast, and the rest keep answering.

The bucket here is a black hole: a loopback port that accepts connections and never answers,
which is what a hung S3 looks like to a client. Nothing in these tests waits on a clock to
decide an outcome: the black hole holds its connections until the test lets them go.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import boto3
import httpx
import pytest
from litestar.testing import TestClient

from backend.app import create_app
from backend.resources import Resources
from backend.settings import Settings
from tests.integration.api import Api

THREADS = 8
S3_SLOTS = 3


class BlackHole:
    """Accepts TCP connections and holds them, silent, until `release()`."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.accepted = 0
        self.held: list[socket.socket] = []
        self.released = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed by release()
                return
            with self._lock:
                self.accepted += 1
                self.held.append(connection)
                if self.released:
                    _drop(connection)

    def wait_for(self, count: int, timeout: float = 15) -> None:
        """Until `count` connections have arrived (fails the test if they never do)."""
        deadline = time.monotonic() + timeout
        while self.accepted < count:
            assert time.monotonic() < deadline, f"{self.accepted} of {count} S3 calls arrived"
            time.sleep(0.02)

    def release(self) -> None:
        """Stop listening and close every held connection: the waiting calls fail."""
        with self._lock:
            self.released = True
            for connection in self.held:
                _drop(connection)
        self.listener.close()


def _drop(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the client may have gone away already
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()


def first_done(futures: list[Future[httpx.Response]], count: int) -> list[Future[httpx.Response]]:
    """The first `count` of `futures` to finish (fails the test if they never do)."""
    deadline = time.monotonic() + 30
    while sum(future.done() for future in futures) < count:
        assert time.monotonic() < deadline, "requests past the bulkhead were not refused"
        time.sleep(0.02)
    return [future for future in futures if future.done()]


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.release()


@contextmanager
def api_on(settings: Settings, boto_session: boto3.session.Session, key: str) -> Iterator[Api]:
    resources = Resources.create(settings, boto_session)
    try:
        with TestClient(create_app(settings, resources)) as http:
            yield Api(http, key)
    finally:
        resources.close()


@pytest.fixture
def hung_api(
    make_settings: Callable[..., Settings],
    boto_session: boto3.session.Session,
    make_key: Callable[[str], str],
    black_hole: BlackHole,
) -> Iterator[Api]:
    settings = make_settings(
        s3_endpoint_url=black_hole.url,
        worker_threads=THREADS,
        s3_max_concurrent_calls=S3_SLOTS,
        # Longer than the test: only release() ends these calls.
        s3_read_timeout_seconds=300,
        s3_max_attempts=1,
    )
    with api_on(settings, boto_session, make_key("alice")) as api:
        yield api


def test_a_hung_s3_holds_no_more_threads_than_its_slots_and_other_requests_still_answer(
    hung_api: Api, black_hole: BlackHole
) -> None:
    # Announcing signs locally: no S3 call, so it works while S3 hangs.
    file_id = hung_api.request_upload(b"abc").json()["file_id"]
    confirms = ThreadPoolExecutor(50)
    clients = ThreadPoolExecutor(1)
    try:
        answers = [
            confirms.submit(hung_api.request, "POST", f"/files/{file_id}/confirm")
            for _ in range(50)
        ]
        black_hole.wait_for(S3_SLOTS)
        # Every confirm past the slots is refused at once, each with a short Retry-After.
        refused = [answer.result() for answer in first_done(answers, 50 - S3_SLOTS)]
        assert {r.status_code for r in refused} == {503}
        assert {r.json()["code"] for r in refused} == {"storage_busy"}
        assert {r.headers["retry-after"] for r in refused} == {"1"}

        # With S3 still hung, a request that needs only PostgreSQL answers. Without the
        # bulkhead the hung calls would hold every worker thread and this would never return.
        looked_up = clients.submit(hung_api.request, "GET", f"/files/{file_id}")
        assert looked_up.result(timeout=30).json()["status"] == "pending"
        listed = clients.submit(hung_api.request, "GET", "/files")
        assert listed.result(timeout=30).status_code == 200
        assert black_hole.accepted == S3_SLOTS
        assert sum(not answer.done() for answer in answers) == S3_SLOTS

        # Readiness says storage is the problem rather than hanging with it.
        ready = hung_api.http.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "ok"
        assert "busy" in ready.json()["checks"]["storage"]
    finally:
        black_hole.release()
        confirms.shutdown(wait=True)
        clients.shutdown(wait=True)

    # The calls that were waiting fail as the connection drops; the file is still pending.
    late = [answer.result() for answer in answers if answer.result() not in refused]
    assert {(r.status_code, r.json()["code"]) for r in late} == {(503, "storage_unavailable")}
    assert hung_api.request("GET", f"/files/{file_id}").json()["status"] == "pending"


def test_a_silent_s3_call_gives_up_after_the_configured_attempts(
    make_settings: Callable[..., Settings],
    boto_session: boto3.session.Session,
    make_key: Callable[[str], str],
    black_hole: BlackHole,
) -> None:
    settings = make_settings(
        s3_endpoint_url=black_hole.url,
        s3_connect_timeout_seconds=0.5,
        s3_read_timeout_seconds=0.5,
        s3_max_attempts=2,
    )
    with api_on(settings, boto_session, make_key("alice")) as api:
        file_id = api.request_upload(b"abc").json()["file_id"]
        answer: httpx.Response = api.request("POST", f"/files/{file_id}/confirm")

    assert answer.status_code == 503
    assert answer.json()["code"] == "storage_unavailable"
    assert answer.headers["retry-after"] == "5"
    # One connection per attempt, each abandoned at the read timeout: S3_MAX_ATTEMPTS is used.
    assert black_hole.accepted == 2
