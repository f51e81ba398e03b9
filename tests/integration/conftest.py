"""Integration fixtures: a real S3 server (SeaweedFS), the app on it, and API clients."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from mypy_boto3_s3 import S3Client

from backend.app import create_app
from backend.local.credentials import S3Credentials
from backend.local.seaweedfs import SeaweedFS, ensure_bucket
from backend.resources import Resources
from backend.settings import Settings
from tests.configuration import replace_settings
from tests.integration.api import Api

BUCKET = "stowage-test"


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS for the whole run, on free loopback ports, with a versioned bucket."""
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"), credentials=S3Credentials.generate())
    server.start()
    try:
        admin = server.client()
        ensure_bucket(admin, BUCKET, versioning=True)
        admin.close()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def boto_session(seaweedfs: SeaweedFS) -> boto3.session.Session:
    """A boto3 session holding the S3 server's credentials (the app's credential chain)."""
    return boto3.session.Session(
        aws_access_key_id=seaweedfs.credentials.access_key,
        aws_secret_access_key=seaweedfs.credentials.secret_key,
        region_name="us-east-1",
    )


@pytest.fixture(scope="session")
def s3(seaweedfs: SeaweedFS) -> S3Client:
    """A direct S3 client, for looking at the bucket behind the service's back."""
    return seaweedfs.client()


@pytest.fixture
def key_prefix() -> str:
    """A key prefix of this test's own, so tests sharing the bucket never see each other."""
    return f"t-{uuid.uuid4().hex[:12]}/"


@pytest.fixture
def settings(
    make_settings: Callable[..., Settings], seaweedfs: SeaweedFS, key_prefix: str
) -> Settings:
    """Settings pointing at this test's database and the S3 server."""
    return make_settings(
        s3_endpoint_url=seaweedfs.endpoint_url, s3_bucket=BUCKET, s3_key_prefix=key_prefix
    )


@pytest.fixture
def make_app(
    boto_session: boto3.session.Session,
) -> Iterator[Callable[[Settings], Litestar]]:
    """Build apps on given settings; their resources are closed after the test."""
    made: list[Resources] = []

    def make(settings: Settings) -> Litestar:
        resources = Resources.create(settings, boto_session)
        made.append(resources)
        return create_app(settings, resources)

    yield make
    for resources in made:
        resources.close()


@pytest.fixture
def app(make_app: Callable[[Settings], Litestar], settings: Settings) -> Litestar:
    """The app on the test settings."""
    return make_app(settings)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    """An HTTP client for the app, without credentials."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def api_with(
    make_app: Callable[[Settings], Litestar],
    settings: Settings,
    make_key: Callable[[str], str],
) -> Iterator[Callable[..., Api]]:
    """Alice's API on an app whose settings differ from the test's as given."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> Api:
            app = make_app(replace_settings(settings, **overrides))
            return Api(stack.enter_context(TestClient(app)), make_key("alice"))

        yield make


@pytest.fixture
def make_api(client: TestClient[Litestar], make_key: Callable[[str], str]) -> Callable[[str], Api]:
    """An API client for a named owner (a new key each call)."""

    def make(owner: str = "alice") -> Api:
        return Api(client, make_key(owner))

    return make


@pytest.fixture
def api(make_api: Callable[[str], Api]) -> Api:
    """The API as owner alice."""
    return make_api("alice")
