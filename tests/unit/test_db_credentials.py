"""Database passwords from IAM auth tokens and Secrets Manager, with botocore stubs."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from botocore.stub import Stubber

from backend.db.credentials import IamAuthToken, SecretPassword
from backend.errors import DatabaseUnavailable

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-abc"


def _session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        aws_session_token="session-token",
        region_name="eu-west-1",
    )


def test_iam_token_is_a_presigned_connect_for_this_host_port_and_user() -> None:
    client = _session().client("rds")
    token = IamAuthToken(client, host="db.example.internal", port=5432, user="stowage")()
    parsed = urlparse("https://" + token)
    query = parse_qs(parsed.query)
    assert parsed.netloc == "db.example.internal:5432"
    assert query["Action"] == ["connect"]
    assert query["DBUser"] == ["stowage"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")
    assert "/eu-west-1/rds-db/aws4_request" in query["X-Amz-Credential"][0]
    assert query["X-Amz-Security-Token"] == ["session-token"]
    assert int(query["X-Amz-Expires"][0]) == 900


def test_each_connection_gets_a_newly_signed_token() -> None:
    client = _session().client("rds")
    source = IamAuthToken(client, host="db", port=5432, user="stowage")
    first = source()
    # Tokens embed the signing time to the second; a later call signs again rather than caching.
    time.sleep(1.1)
    assert source() != first


def test_iam_token_without_role_credentials_is_database_unavailable(
    no_aws_credentials: None,
) -> None:
    client = boto3.session.Session(region_name="eu-west-1").client("rds")
    with pytest.raises(DatabaseUnavailable):
        IamAuthToken(client, host="db", port=5432, user="stowage")()


@pytest.fixture
def secrets() -> tuple[SecretPassword, Stubber, list[float]]:
    client = _session().client("secretsmanager")
    stubber = Stubber(client)
    now = [1000.0]
    source = SecretPassword(client, ARN, ttl=300, clock=lambda: now[0])
    return source, stubber, now


def _answer(stubber: Stubber, secret: str) -> None:
    stubber.add_response(
        "get_secret_value", {"ARN": ARN, "SecretString": secret}, {"SecretId": ARN}
    )


def test_rds_managed_json_secret_gives_its_password(
    secrets: tuple[SecretPassword, Stubber, list[float]],
) -> None:
    source, stubber, _ = secrets
    _answer(stubber, json.dumps({"username": "stowage", "password": "s3cr3t"}))
    with stubber:
        assert source() == "s3cr3t"
    stubber.assert_no_pending_responses()


def test_plain_string_secret_is_the_password(
    secrets: tuple[SecretPassword, Stubber, list[float]],
) -> None:
    source, stubber, _ = secrets
    _answer(stubber, "just-the-password")
    with stubber:
        assert source() == "just-the-password"


def test_secret_is_cached_then_reread_after_its_ttl_so_rotation_works(
    secrets: tuple[SecretPassword, Stubber, list[float]],
) -> None:
    source, stubber, now = secrets
    _answer(stubber, json.dumps({"password": "before"}))
    _answer(stubber, json.dumps({"password": "after-rotation"}))
    with stubber:
        assert source() == "before"
        now[0] += 299
        assert source() == "before"  # one call so far: the stub still holds the second answer
        now[0] += 1
        assert source() == "after-rotation"
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    "problem",
    ["access_denied", "json_without_password"],
)
def test_unreadable_secret_is_database_unavailable(
    secrets: tuple[SecretPassword, Stubber, list[float]], problem: str
) -> None:
    source, stubber, _ = secrets
    if problem == "access_denied":
        stubber.add_client_error("get_secret_value", "AccessDeniedException", http_status_code=400)
    else:
        _answer(stubber, json.dumps({"username": "stowage"}))
    with stubber, pytest.raises(DatabaseUnavailable):
        source()
