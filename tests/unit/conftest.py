"""Unit fixtures: no network, no database; AWS credentials are fake and local."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from backend.app import create_app
from backend.resources import Resources
from tests.configuration import settings_from


def _isolate_from_local_aws_config(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """Keep boto3 away from the developer's ~/.aws, their AWS_* variables and EC2 metadata."""
    for name in (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(directory / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(directory / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment in which boto3 finds no credentials anywhere."""
    _isolate_from_local_aws_config(monkeypatch, tmp_path)


@pytest.fixture
def fake_aws_credentials(no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake keys in the environment and nothing else to fall back on."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def boto_session(tmp_path_factory: pytest.TempPathFactory) -> boto3.session.Session:
    """One boto3 session for the run, so the S3 service model is loaded once, not per test."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _isolate_from_local_aws_config(monkeypatch, tmp_path_factory.mktemp("aws"))
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        session.client("s3")  # read (empty) config and the S3 model while isolated
    return session


@pytest.fixture
def offline_client(
    boto_session: boto3.session.Session, tmp_path: Path
) -> Iterator[TestClient[Litestar]]:
    """The app on settings it never uses: for pages that need neither database nor bucket."""
    settings = settings_from(database_url=f"sqlite:///{tmp_path / 'unused.db'}", s3_bucket="unused")
    resources = Resources.create(settings, boto_session)
    try:
        with TestClient(create_app(settings, resources)) as client:
            yield client
    finally:
        resources.close()
