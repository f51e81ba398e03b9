"""The files bucket's policy: TLS only, and no presigned URL older than the signature-age cap."""

from typing import Any

import pytest
from terraform_config import Terraform, references, statements

BUCKET = "${aws_s3_bucket.this.arn}"


@pytest.fixture(scope="module")
def bucket_policy(terraform: Terraform) -> list[dict[str, Any]]:
    policy = terraform.resources["aws_s3_bucket_policy.this"]
    assert policy["bucket"] == "${aws_s3_bucket.this.id}"
    return statements(terraform.policy_document(policy["policy"]))


def deny_statements(statements_: list[dict[str, Any]], test: str, key: str) -> list[dict[str, Any]]:
    """Deny-everyone statements with a condition ``test`` on ``key``."""
    return [
        statement
        for statement in statements_
        if statement.get("effect") == "Deny"
        and statement.get("principals") == [{"type": "*", "identifiers": ["*"]}]
        and any(c["test"] == test and c["variable"] == key for c in statement.get("condition", []))
    ]


def covers_bucket_and_objects(statement: dict[str, Any]) -> bool:
    return statement["actions"] == ["s3:*"] and set(statement["resources"]) == {
        BUCKET,
        f"{BUCKET}/*",
    }


def test_bucket_policy_denies_every_request_without_tls(
    terraform: Terraform, bucket_policy: list[dict[str, Any]]
) -> None:
    (statement,) = deny_statements(bucket_policy, "Bool", "aws:SecureTransport")
    (condition,) = statement["condition"]
    assert condition["values"] == ["false"]
    assert covers_bucket_and_objects(statement)


def test_bucket_policy_denies_signatures_older_than_the_configured_cap(
    terraform: Terraform, bucket_policy: list[dict[str, Any]]
) -> None:
    (statement,) = deny_statements(bucket_policy, "NumericGreaterThan", "s3:signatureAge")
    (condition,) = statement["condition"]
    (value,) = condition["values"]
    assert references(value) == {"var.max_signature_age_ms"}
    assert covers_bucket_and_objects(statement)


def test_signature_age_cap_defaults_to_fifteen_minutes_and_covers_the_url_ttls(
    terraform: Terraform,
) -> None:
    cap_ms = terraform.variable_default("max_signature_age_ms")
    assert cap_ms == 15 * 60 * 1000
    for ttl in ("upload_url_ttl_seconds", "download_url_ttl_seconds"):
        assert terraform.variable_default(ttl) * 1000 <= cap_ms
        # ...and the cap's validation refuses a cap below whatever TTLs the operator sets.
        conditions = [
            v["condition"] for v in terraform.variables["max_signature_age_ms"]["validation"]
        ]
        assert any(f"var.{ttl}" in condition for condition in conditions)


def test_bucket_policy_has_no_allow_statements(bucket_policy: list[dict[str, Any]]) -> None:
    # Access is granted by the app role's identity policy; the bucket policy only takes away.
    assert {statement.get("effect") for statement in bucket_policy} == {"Deny"}
