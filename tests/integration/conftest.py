"""Integration fixtures: a real S3 server (SeaweedFS), the app on it, and API clients."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.credentials import CredentialResolver
from litestar import Litestar
from litestar.testing import TestClient
from mypy_boto3_s3 import S3Client

from backend.app import create_app
from backend.local.credentials import S3Credentials
from backend.local.seaweedfs import SeaweedFS, ensure_bucket
from backend.resources import Resources
from backend.settings import Settings
from tests.configuration import replace_settings
from tests.identity_provider import IdentityProvider
from tests.integration.api import Api

BUCKET = "stowage-test"


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS per test process, on free loopback ports, with a versioned bucket."""
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
) -> Iterator[Callable[..., Litestar]]:
    """Build apps on given settings (and boto3 session); their resources are closed after."""
    made: list[Resources] = []

    def make(settings: Settings, session: boto3.session.Session = boto_session) -> Litestar:
        resources = Resources.create(settings, session)
        made.append(resources)
        return create_app(settings, resources)

    yield make
    for resources in made:
        resources.close()


@pytest.fixture
def make_resources(
    boto_session: boto3.session.Session, settings: Settings
) -> Iterator[Callable[..., Resources]]:
    """Engine and bucket adapter on the test's settings changed as given; closed after."""
    made: list[Resources] = []

    def make(**overrides: Any) -> Resources:
        resources = Resources.create(replace_settings(settings, **overrides), boto_session)
        made.append(resources)
        return resources

    yield make
    for resources in made:
        resources.close()


@pytest.fixture
def app(make_app: Callable[..., Litestar], settings: Settings) -> Litestar:
    """The app on the test settings."""
    return make_app(settings)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    """An HTTP client for the app, without credentials."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def api_with(
    make_app: Callable[..., Litestar],
    settings: Settings,
    make_key: Callable[[str], str],
) -> Iterator[Callable[..., Api]]:
    """Alice's API on an app whose settings differ from the test's as given."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> Api:
            app = make_app(replace_settings(settings, **overrides))
            return Api(stack.enter_context(TestClient(app)), make_key("alice"))

        yield make


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens here once the socket is closed


@pytest.fixture
def no_storage(
    make_app: Callable[..., Litestar], settings: Settings
) -> Iterator[TestClient[Litestar]]:
    """The app on the same database, with an S3 endpoint where nothing answers."""
    broken = replace_settings(
        settings,
        s3_endpoint_url=f"http://127.0.0.1:{_closed_port()}",
        s3_connect_timeout_seconds=0.5,
        s3_read_timeout_seconds=0.5,
    )
    with TestClient(make_app(broken)) as http:
        yield http


@pytest.fixture
def storage_busy(
    make_app: Callable[..., Litestar], settings: Settings
) -> Iterator[TestClient[Litestar]]:
    """The app on the same database and bucket, with every S3 call slot taken."""
    app = make_app(settings)
    with TestClient(app) as http, ExitStack() as held:
        calls = app.state.services["files"].storage.calls
        for _ in range(calls.limit):
            held.enter_context(calls.enter())
        yield http


@pytest.fixture
def no_database(
    make_app: Callable[..., Litestar], settings: Settings
) -> Iterator[TestClient[Litestar]]:
    """The app on the real bucket, with a database URL where nothing answers."""
    broken = replace_settings(
        settings, database_url=f"postgresql://postgres@127.0.0.1:{_closed_port()}/nowhere"
    )
    with TestClient(make_app(broken)) as http:
        yield http


@pytest.fixture
def rate_limited(
    make_app: Callable[..., Litestar], settings: Settings
) -> Iterator[TestClient[Litestar]]:
    """The app on the same database and bucket, allowing one request of each kind a minute."""
    limited = replace_settings(
        settings, rate_limit_uploads_per_minute=1, rate_limit_requests_per_minute=1
    )
    with TestClient(make_app(limited)) as http:
        yield http


@pytest.fixture
def no_credentials(
    make_app: Callable[..., Litestar], settings: Settings
) -> Iterator[TestClient[Litestar]]:
    """The app on the same database and bucket, with no S3 credentials to sign with."""
    anonymous = botocore.session.get_session()
    # No provider at all: neither the environment nor ~/.aws nor instance metadata is asked.
    anonymous.register_component("credential_provider", CredentialResolver(providers=[]))
    session = boto3.session.Session(botocore_session=anonymous, region_name="us-east-1")
    with TestClient(make_app(settings, session)) as http:
        yield http


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


@pytest.fixture
def token_client(
    make_app: Callable[..., Litestar], settings: Settings, identity_provider: IdentityProvider
) -> Iterator[TestClient[Litestar]]:
    """The app on the test settings, also accepting the identity provider's tokens."""
    configured = replace_settings(settings, **identity_provider.settings())
    with TestClient(make_app(configured)) as http:
        yield http


@pytest.fixture
def no_identity_provider(
    make_app: Callable[..., Litestar], settings: Settings
) -> Iterator[TestClient[Litestar]]:
    """The app configured for an identity provider where nothing answers."""
    gone = f"http://127.0.0.1:{_closed_port()}"
    configured = replace_settings(settings, oidc_issuer=gone, oidc_audience="stowage-api")
    with TestClient(make_app(configured)) as http:
        yield http
