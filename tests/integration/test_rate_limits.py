"""Rate limits: per owner (not per address), two budgets, shared through Redis, explained."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from litestar import Litestar
from litestar.testing import TestClient

from backend.local.seaweedfs import free_port
from backend.settings import Settings
from tests.configuration import replace_settings
from tests.integration.api import Api

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the shared Redis, its keys removed afterwards."""
    prefix = f"stowage-test-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis answers at {REDIS_URL}")
    yield prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def limited(
    make_app: Callable[..., Litestar],
    settings: Settings,
    make_key: Callable[[str], str],
) -> Iterator[Callable[..., Callable[[str], Api]]]:
    """An app with these settings changed; then, for an owner name, their API on it."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> Callable[[str], Api]:
            client = stack.enter_context(
                TestClient(make_app(replace_settings(settings, **overrides)))
            )
            return lambda owner: Api(client, make_key(owner))

        yield make


def _upload(api: Api) -> Any:
    return api.request_upload(b"abc")


def test_the_eleventh_request_in_a_minute_of_ten_is_refused_with_its_headers(
    limited: Callable[..., Callable[[str], Api]],
) -> None:
    alice = limited(rate_limit_requests_per_minute=10)("alice")
    answers = [alice.request("GET", "/files") for _ in range(11)]

    assert [a.status_code for a in answers] == [200] * 10 + [429]
    assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["9", "8", "7"]
    refused = answers[-1]
    assert refused.json()["code"] == "too_many_requests"
    assert refused.headers["RateLimit-Limit"] == "10"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Retry-After"] == refused.headers["RateLimit-Reset"]


def test_each_owner_has_a_budget_of_their_own_from_the_same_address(
    limited: Callable[..., Callable[[str], Api]],
) -> None:
    api_for = limited(rate_limit_requests_per_minute=2)
    alice, bob = api_for("alice"), api_for("bob")
    assert [alice.request("GET", "/files").status_code for _ in range(3)] == [200, 200, 429]
    # Same client address, another owner: untouched by alice's use.
    assert [bob.request("GET", "/files").status_code for _ in range(2)] == [200, 200]


def test_announcements_have_their_own_budget(
    limited: Callable[..., Callable[[str], Api]],
) -> None:
    alice = limited(rate_limit_uploads_per_minute=2, rate_limit_requests_per_minute=100)("alice")
    assert [_upload(alice).status_code for _ in range(3)] == [201, 201, 429]
    assert alice.request("GET", "/files?status=pending").status_code == 200


def test_without_limits_no_headers_are_sent(api: Api) -> None:
    answer = api.request("GET", "/files")
    assert answer.status_code == 200 and "RateLimit-Limit" not in answer.headers


def test_two_instances_sharing_redis_share_the_budget(
    limited: Callable[..., Callable[[str], Api]], redis_prefix: str
) -> None:
    shared = {
        "redis_url": REDIS_URL,
        "rate_limit_key_prefix": redis_prefix,
        "rate_limit_requests_per_minute": 10,
    }
    one, two = limited(**shared)("alice"), limited(**shared)("alice")
    statuses = [(one if i % 2 else two).request("GET", "/files").status_code for i in range(11)]
    assert statuses == [200] * 10 + [429]


def test_without_redis_each_instance_counts_alone(
    limited: Callable[..., Callable[[str], Api]],
) -> None:
    one = limited(rate_limit_requests_per_minute=2)("alice")
    two = limited(rate_limit_requests_per_minute=2)("alice")
    assert [one.request("GET", "/files").status_code for _ in range(3)] == [200, 200, 429]
    assert two.request("GET", "/files").status_code == 200


def test_an_unreachable_redis_lets_requests_through(
    limited: Callable[..., Callable[[str], Api]],
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    alice = limited(redis_url=f"redis://127.0.0.1:{port}/0", rate_limit_requests_per_minute=1)(
        "alice"
    )
    assert [alice.request("GET", "/files").status_code for _ in range(3)] == [200] * 3


def test_an_address_sending_wrong_credentials_is_slowed_down(
    limited: Callable[..., Callable[[str], Api]],
) -> None:
    alice = limited(rate_limit_failed_auth_per_minute=3)("alice")
    wrong = Api(alice.http, "stw_aaaaaaaaaaaaaaaa_" + "A" * 43)
    assert [wrong.request("GET", "/files").status_code for _ in range(3)] == [401] * 3
    refused = wrong.request("GET", "/files")
    assert (refused.status_code, refused.json()["code"]) == (429, "too_many_requests")
    assert int(refused.headers["Retry-After"]) >= 1


@contextlib.contextmanager
def _serving(env: dict[str, str], log: Path) -> Iterator[str]:
    """`python -m backend serve` in its own process; its base URL once it answers."""
    port = free_port()
    with (
        log.open("w") as output,
        subprocess.Popen(
            [sys.executable, "-m", "backend", "serve"],
            env={**os.environ, **env, "PORT": str(port)},
            stdout=output,
            stderr=output,
        ) as server,
    ):
        try:
            deadline = time.monotonic() + 30
            while True:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "serve did not answer"
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=20)


def test_the_eleventh_request_across_two_server_processes_sharing_redis_is_refused(
    database_url: str, make_key: Callable[[str], str], redis_prefix: str, tmp_path: Path
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "S3_BUCKET": "stowage-test",
        "REDIS_URL": REDIS_URL,
        "RATE_LIMIT_KEY_PREFIX": redis_prefix,
        "RATE_LIMIT_REQUESTS_PER_MINUTE": "10",
    }
    auth = {"Authorization": f"Bearer {make_key('alice')}"}
    with (
        _serving(env, tmp_path / "one.log") as one,
        _serving(env, tmp_path / "two.log") as two,
    ):
        answers = [
            httpx.get(f"{(one, two)[i % 2]}/me", headers=auth, timeout=10) for i in range(11)
        ]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    assert answers[-1].json()["code"] == "too_many_requests"
