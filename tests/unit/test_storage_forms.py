"""PostForms signs exactly the form botocore's own generate_presigned_post signs."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config

from backend.storage_forms import PostForms

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways of signing see the same instant, so their signatures can be compared."""
    for module in ("botocore.signers", "botocore.auth"):
        monkeypatch.setattr(f"{module}.get_current_datetime", lambda: NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("region", "endpoint_url", "addressing_style", "token"),
    [
        ("eu-west-1", None, "virtual", None),
        ("us-east-1", None, "virtual", "an-instance-role-session-token"),
        ("us-east-1", "http://127.0.0.1:8333", "path", None),
    ],
)
@pytest.mark.parametrize("key", ["uploads/owner/file", "uploads/owner/${filename}"])
def test_a_form_is_the_one_botocore_signs(
    region: str, endpoint_url: str | None, addressing_style: str, token: str | None, key: str
) -> None:
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        aws_session_token=token,
        region_name=region,
    )
    client = session.client(
        "s3",
        endpoint_url=endpoint_url,
        config=Config(signature_version="s3v4", s3={"addressing_style": addressing_style}),
    )
    fields = {"Content-Type": "image/png", "x-amz-checksum-sha256": "n4bQgYhMfWWaL+qgxVrQFaO/="}
    conditions = [
        {"Content-Type": "image/png"},
        ["content-length-range", 42, 42],
        {"x-amz-checksum-sha256": "n4bQgYhMfWWaL+qgxVrQFaO/="},
    ]
    forms = PostForms(client)
    for _ in range(2):  # the first form prepares the bucket's request, the second reuses it
        ours = forms.sign(
            "stowage-bucket", key, fields=fields, conditions=conditions, expires_in=900
        )
        theirs = client.generate_presigned_post(
            Bucket="stowage-bucket", Key=key, Fields=fields, Conditions=conditions, ExpiresIn=900
        )
        assert ours == theirs
    assert fields == {
        "Content-Type": "image/png",
        "x-amz-checksum-sha256": "n4bQgYhMfWWaL+qgxVrQFaO/=",
    }


def test_forms_for_two_buckets_each_name_their_own() -> None:
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="eu-west-1"
    )
    forms = PostForms(session.client("s3", config=Config(signature_version="s3v4")))
    first = forms.sign("bucket-one", "k", fields={}, conditions=[], expires_in=60)
    second = forms.sign("bucket-two", "k", fields={}, conditions=[], expires_in=60)
    assert "bucket-one" in first["url"] and "bucket-two" in second["url"]
