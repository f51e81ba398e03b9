"""The S3 adapter against moto: form policies, object facts, and errors translated once."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from backend.errors import StorageUnavailable
from backend.storage import Storage, create_client, sha256_b64_to_hex, sha256_hex_to_b64
from tests.configuration import settings_from

BUCKET = "stowage-unit"
KEY = "uploads/2024/report.pdf"
SAMPLE = b"%PDF-1.7 sample bytes for the checksum\n"
SAMPLE_SHA256 = hashlib.sha256(SAMPLE)


@pytest.fixture
def storage(fake_aws_credentials: None, boto_session: boto3.session.Session) -> Iterator[Storage]:
    """A Storage on an empty, in-memory moto bucket."""
    settings = settings_from(database_url="sqlite:///unused.db", s3_bucket=BUCKET)
    with mock_aws():
        client = create_client(settings, boto_session)
        client.create_bucket(Bucket=BUCKET)
        yield Storage(client, BUCKET)


def _policy(fields: dict[str, str]) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return decoded


# --- presign_post ------------------------------------------------------------------------


def test_upload_form_pins_key_content_type_and_exact_size(storage: Storage) -> None:
    post = storage.presign_post(
        KEY, size=1234, content_type="application/pdf", sha256_hex=None, expires_in=600
    )

    conditions = _policy(post.fields)["conditions"]
    assert {"key": KEY} in conditions
    assert {"bucket": BUCKET} in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert ["content-length-range", 1234, 1234] in conditions
    assert post.fields["key"] == KEY
    assert post.fields["Content-Type"] == "application/pdf"


def test_upload_form_pins_the_declared_sha256(storage: Storage) -> None:
    post = storage.presign_post(
        KEY,
        size=len(SAMPLE),
        content_type="application/pdf",
        sha256_hex=SAMPLE_SHA256.hexdigest(),
        expires_in=600,
    )

    conditions = _policy(post.fields)["conditions"]
    pinned = [c["x-amz-checksum-sha256"] for c in conditions if "x-amz-checksum-sha256" in c]
    assert len(pinned) == 1
    assert base64.b64decode(pinned[0], validate=True) == SAMPLE_SHA256.digest()
    assert post.fields["x-amz-checksum-sha256"] == pinned[0]
    assert {"x-amz-checksum-algorithm": "SHA256"} in conditions


def test_upload_form_without_sha256_has_no_checksum_condition(storage: Storage) -> None:
    post = storage.presign_post(
        KEY, size=10, content_type="image/png", sha256_hex=None, expires_in=600
    )

    conditions = _policy(post.fields)["conditions"]
    named = {name.lower() for c in conditions if isinstance(c, dict) for name in c}
    assert not any(name.startswith("x-amz-checksum") for name in named)
    assert not any(name.lower().startswith("x-amz-checksum") for name in post.fields)


@pytest.mark.parametrize("sha256", [None, SAMPLE_SHA256.hexdigest()], ids=["plain", "checksum"])
def test_every_form_field_is_pinned_by_an_exact_condition(
    storage: Storage, sha256: str | None
) -> None:
    post = storage.presign_post(
        KEY, size=10, content_type="image/png", sha256_hex=sha256, expires_in=600
    )

    conditions = _policy(post.fields)["conditions"]
    for name, value in post.fields.items():
        if name in {"policy", "x-amz-signature"}:  # the signature cannot sign itself
            continue
        assert {name: value} in conditions, f"form field {name} can be changed by the client"


@pytest.mark.parametrize("expires_in", [60, 600, 3600])
def test_upload_form_expires_after_the_given_lifetime(storage: Storage, expires_in: int) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    post = storage.presign_post(
        KEY, size=10, content_type="image/png", sha256_hex=None, expires_in=expires_in
    )
    after = datetime.now(UTC)

    expiration = datetime.strptime(
        _policy(post.fields)["expiration"], "%Y-%m-%dT%H:%M:%SZ"
    ).replace(tzinfo=UTC)
    assert before + timedelta(seconds=expires_in) <= expiration
    assert expiration <= after + timedelta(seconds=expires_in)


@pytest.fixture
def uncredentialed(no_aws_credentials: None) -> Storage:
    """A Storage whose boto3 session finds no credentials (signing happens locally)."""
    settings = settings_from(database_url="sqlite:///unused.db", s3_bucket=BUCKET)
    return Storage(create_client(settings, boto3.session.Session()), BUCKET)


def test_signing_an_upload_without_credentials_is_storage_unavailable(
    uncredentialed: Storage,
) -> None:
    with pytest.raises(StorageUnavailable):
        uncredentialed.presign_post(
            KEY, size=1, content_type="image/png", sha256_hex=None, expires_in=60
        )


def test_signing_a_download_without_credentials_is_storage_unavailable(
    uncredentialed: Storage,
) -> None:
    with pytest.raises(StorageUnavailable):
        uncredentialed.presign_get(
            KEY,
            version_id=None,
            content_type="image/png",
            content_disposition='inline; filename="a.png"',
            expires_in=60,
        )


# --- head and purge ----------------------------------------------------------------------


def test_head_of_missing_key_is_none(storage: Storage) -> None:
    assert storage.head("uploads/never-uploaded") is None


def test_head_reports_size_type_and_checksum_of_what_was_stored(storage: Storage) -> None:
    storage.client.put_object(
        Bucket=BUCKET, Key=KEY, Body=SAMPLE, ContentType="application/pdf",
        ChecksumAlgorithm="SHA256",
    )  # fmt: skip

    facts = storage.head(KEY)

    assert facts is not None
    assert facts.size == len(SAMPLE)
    assert facts.content_type == "application/pdf"
    assert facts.sha256_b64 is not None
    assert sha256_b64_to_hex(facts.sha256_b64) == SAMPLE_SHA256.hexdigest()
    assert facts.version_id is None  # unversioned bucket


def test_head_reports_the_version_in_a_versioned_bucket(storage: Storage) -> None:
    storage.client.put_bucket_versioning(
        Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    put = storage.client.put_object(Bucket=BUCKET, Key=KEY, Body=SAMPLE)

    facts = storage.head(KEY)

    assert facts is not None
    assert facts.version_id == put["VersionId"]


def _enable_versioning(storage: Storage) -> None:
    storage.client.put_bucket_versioning(
        Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )


def _versions(storage: Storage, prefix: str) -> list[tuple[str, str]]:
    listing = storage.client.list_object_versions(Bucket=BUCKET, Prefix=prefix)
    return [
        (entry["Key"], entry["VersionId"])
        for entry in [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]
    ]


def test_purge_of_a_missing_key_succeeds(storage: Storage) -> None:
    storage.purge("uploads/never-uploaded")

    assert storage.head("uploads/never-uploaded") is None


def test_purge_removes_an_unversioned_object(storage: Storage) -> None:
    storage.client.put_object(Bucket=BUCKET, Key=KEY, Body=SAMPLE)

    storage.purge(KEY)

    assert storage.head(KEY) is None


def test_purge_destroys_every_version_and_marker_of_the_key_and_nothing_else(
    storage: Storage,
) -> None:
    _enable_versioning(storage)
    for body in (b"first", b"second"):
        storage.client.put_object(Bucket=BUCKET, Key=KEY, Body=body)
    storage.client.delete_object(Bucket=BUCKET, Key=KEY)  # leaves a delete marker
    neighbour = KEY + "-neighbour"  # shares the prefix, must survive
    storage.client.put_object(Bucket=BUCKET, Key=neighbour, Body=b"keep")

    storage.purge(KEY)

    assert [key for key, _version in _versions(storage, KEY)] == [neighbour]


def test_check_passes_on_a_reachable_versioned_bucket(storage: Storage) -> None:
    _enable_versioning(storage)

    storage.check("uploads/")  # raises if the bucket does not answer


def test_check_refuses_a_bucket_without_versioning(storage: Storage) -> None:
    with pytest.raises(StorageUnavailable, match="versioning"):
        storage.check("uploads/")


def test_check_of_a_missing_bucket_is_storage_unavailable(storage: Storage) -> None:
    missing = Storage(storage.client, "no-such-bucket")

    with pytest.raises(StorageUnavailable):
        missing.check("uploads/")


# --- an endpoint that refuses connections ------------------------------------------------


@pytest.fixture
def unreachable(fake_aws_credentials: None, boto_session: boto3.session.Session) -> Storage:
    """Storage at a local port nothing listens on, with timeouts short enough for a unit test."""
    settings = settings_from(
        database_url="sqlite:///x.db",
        s3_bucket="b",
        s3_endpoint_url="http://127.0.0.1:9",
        s3_connect_timeout_seconds=0.2,
        s3_read_timeout_seconds=0.2,
    )
    return Storage(create_client(settings, boto_session), settings.storage.bucket)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.head(KEY),
        lambda s: s.purge(KEY),
        lambda s: s.check("uploads/"),
    ],
    ids=["head", "purge", "check"],
)
def test_unreachable_storage_is_storage_unavailable(unreachable: Storage, call: Any) -> None:
    with pytest.raises(StorageUnavailable):
        call(unreachable)


# --- checksum encodings ------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"a", SAMPLE, bytes(range(256)) * 4])
def test_sha256_hex_and_base64_forms_round_trip(data: bytes) -> None:
    digest = hashlib.sha256(data)

    as_b64 = sha256_hex_to_b64(digest.hexdigest())

    assert base64.b64decode(as_b64, validate=True) == digest.digest()
    assert sha256_b64_to_hex(as_b64) == digest.hexdigest()


@pytest.mark.parametrize(
    "value",
    [
        "abc=-3",
        base64.b64encode(SAMPLE_SHA256.digest()).decode() + "-3",
        base64.b64encode(SAMPLE_SHA256.digest()[:31]).decode(),
        base64.b64encode(SAMPLE_SHA256.digest() + b"\x00").decode(),
        base64.b64encode(b"").decode(),
        "not base64 at all!",
        SAMPLE_SHA256.hexdigest(),
    ],
    ids=["composite-short", "composite-full", "31-bytes", "33-bytes", "empty", "junk", "hex"],
)
def test_non_full_object_checksum_has_no_hex_form(value: str) -> None:
    assert sha256_b64_to_hex(value) is None


def test_forms_signed_with_role_credentials_pin_the_session_token(
    fake_aws_credentials: None,
) -> None:
    # Instance-role credentials are temporary: the token must be a field and a condition.
    session = boto3.session.Session(
        aws_access_key_id="ASIAEXAMPLE",
        aws_secret_access_key="secret",
        aws_session_token="role-session-token",
        region_name="us-east-1",
    )
    settings = settings_from(database_url="sqlite:///unused.db", s3_bucket=BUCKET)
    storage = Storage(create_client(settings, session), BUCKET)
    post = storage.presign_post(
        KEY, size=1, content_type="image/png", sha256_hex=None, expires_in=60
    )
    assert post.fields["x-amz-security-token"] == "role-session-token"
    assert {"x-amz-security-token": "role-session-token"} in _policy(post.fields)["conditions"]


@pytest.mark.parametrize(("code", "status"), [("403", 403), ("404", 404), ("NoSuchKey", 404)])
def test_head_treats_forbidden_and_not_found_as_no_object(
    storage: Storage, code: str, status: int
) -> None:
    # A role that may list only its own prefix gets 403, not 404, for a key that is not there.
    with Stubber(storage.client) as stubber:
        stubber.add_client_error("head_object", service_error_code=code, http_status_code=status)
        assert storage.head(KEY) is None


def test_head_that_fails_otherwise_is_storage_unavailable(storage: Storage) -> None:
    with Stubber(storage.client) as stubber:
        stubber.add_client_error("head_object", service_error_code="500", http_status_code=500)
        with pytest.raises(StorageUnavailable):
            storage.head(KEY)
