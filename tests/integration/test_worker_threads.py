"""WORKER_THREADS sizes the pool that really runs the handlers' database and S3 calls."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from backend.app import create_app
from backend.resources import Resources
from backend.settings import Settings
from backend.storage import ObjectFacts, Storage
from tests.configuration import replace_settings
from tests.integration.api import Api

# More than asyncio's own default executor has on a 2-core machine (min(32, cores + 4) = 6).
THREADS = 9


class _AllAtOnce(Storage):
    """A HEAD that returns only once THREADS of them are waiting at the same time."""

    def __init__(self, inner: Storage) -> None:
        super().__init__(inner.client, inner.bucket)
        self.barrier = threading.Barrier(THREADS, timeout=15)

    def head(self, key: str) -> ObjectFacts | None:
        self.barrier.wait()
        return None


@pytest.fixture
def blocking_api(
    settings: Settings, boto_session: boto3.session.Session, make_key: Callable[[str], str]
) -> Iterator[Api]:
    sized = replace_settings(settings, worker_threads=THREADS)
    resources = Resources.create(sized, boto_session)
    slow = Resources(sized, resources.engine, _AllAtOnce(resources.storage))
    app: Litestar = create_app(sized, slow)
    try:
        with TestClient(app) as http:
            yield Api(http, make_key("alice"))
    finally:
        resources.close()


def test_as_many_blocking_requests_as_worker_threads_run_at_once(blocking_api: Api) -> None:
    tickets = [blocking_api.request_upload(b"x").json()["file_id"] for _ in range(THREADS)]

    def confirm(file_id: str) -> int:
        return blocking_api.request("POST", f"/files/{file_id}/confirm").status_code

    with ThreadPoolExecutor(THREADS) as clients:
        statuses = list(clients.map(confirm, tickets))

    # Every HEAD got past the barrier, so all of them were in flight together: 409 (nothing
    # arrived), not 500 from a barrier that timed out waiting for threads the pool lacked.
    assert statuses == [409] * THREADS
