"""The app role's own policy is least privilege: what the service does, nothing wildcarded."""

from typing import Any

import pytest
from terraform_config import Terraform, references, statements

BUCKET = "${aws_s3_bucket.this.arn}"
KEY_PREFIX = "${var.s3_key_prefix}"
DEPLOY = "${local.deploy_key_prefix}"
APP_LOG_GROUP = "${aws_cloudwatch_log_group.app.arn}"

# Multipart uploads need no more: CreateMultipartUpload, UploadPart (presigned) and
# CompleteMultipartUpload are s3:PutObject; ListParts is s3:ListMultipartUploadParts.
OBJECT_ACTIONS = {
    "s3:PutObject",
    "s3:GetObject",
    "s3:GetObjectVersion",  # presigned downloads pinned to a VersionId
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",  # removing a rejected file's exact version in the versioned bucket
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
}


@pytest.fixture(scope="module")
def app_statements(terraform: Terraform) -> list[dict[str, Any]]:
    policies = [
        body
        for body in terraform.of_type("aws_iam_role_policy").values()
        if body["role"] == "${aws_iam_role.app.id}"
    ]
    assert len(policies) == 1, "the app role has exactly one inline policy"
    assert terraform.of_type("aws_iam_policy") == {}, "no customer-managed policies to attach"
    return statements(terraform.policy_document(policies[0]["policy"]))


def test_app_policy_has_no_wildcard_actions(app_statements: list[dict[str, Any]]) -> None:
    for statement in app_statements:
        assert "not_actions" not in statement
        for action in statement["actions"]:
            assert "*" not in action, action


def test_app_policy_has_no_wildcard_resources(app_statements: list[dict[str, Any]]) -> None:
    for statement in app_statements:
        assert "not_resources" not in statement
        for resource in statement["resources"]:
            assert resource.startswith("${"), f"resource should be a reference, not {resource!r}"
            # The '*' allowed: "any key under a prefix" (the app's, or the deploy artefacts') and
            # "any stream of the app's log group".
            without_prefixes = (
                resource.replace(f"{KEY_PREFIX}*", "")
                .replace(f"{DEPLOY}*", "")
                .replace(f"{APP_LOG_GROUP}:*", "")
            )
            assert without_prefixes.count("*") == 0, resource


def test_app_policy_only_allows(app_statements: list[dict[str, Any]]) -> None:
    assert {statement.get("effect", "Allow") for statement in app_statements} == {"Allow"}


def test_object_actions_are_exactly_the_ones_the_service_uses_under_the_key_prefix(
    app_statements: list[dict[str, Any]],
) -> None:
    object_statements = [
        s
        for s in app_statements
        if any(r.startswith(f"{BUCKET}/{KEY_PREFIX}") for r in s["resources"])
    ]
    assert len(object_statements) == 1
    (statement,) = object_statements
    assert set(statement["actions"]) == OBJECT_ACTIONS
    assert statement["resources"] == [f"{BUCKET}/{KEY_PREFIX}*"]


def test_bucket_listing_is_restricted_to_the_key_prefix(
    app_statements: list[dict[str, Any]],
) -> None:
    (statement,) = [
        s for s in app_statements if s["resources"] == [BUCKET] and "s3:ListBucket" in s["actions"]
    ]
    assert set(statement["actions"]) == {
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
        "s3:ListBucketVersions",
    }
    (condition,) = statement["condition"]
    assert (condition["test"], condition["variable"]) == ("StringLike", "s3:prefix")
    assert condition["values"] == [f"{KEY_PREFIX}*"]


def test_the_only_other_bucket_action_is_reading_its_versioning_state(
    app_statements: list[dict[str, Any]],
) -> None:
    others = [
        s
        for s in app_statements
        if s["resources"] == [BUCKET] and "s3:ListBucket" not in s["actions"]
    ]
    assert [s["actions"] for s in others] == [["s3:GetBucketVersioning"]]
    assert all("condition" not in s for s in others)


def test_database_access_is_iam_login_as_the_app_user_only(
    terraform: Terraform, app_statements: list[dict[str, Any]]
) -> None:
    (statement,) = [s for s in app_statements if "rds-db:connect" in s["actions"]]
    assert statement["actions"] == ["rds-db:connect"]
    (resource,) = statement["resources"]
    (local,) = references(resource)
    user_arn = terraform.locals[local.removeprefix("local.")]
    assert user_arn.endswith(":dbuser:${aws_db_instance.this.resource_id}/${var.db_app_username}")


def test_outside_the_key_prefix_the_app_may_only_read_the_deploy_artefacts(
    app_statements: list[dict[str, Any]],
) -> None:
    (statement,) = [s for s in app_statements if f"{BUCKET}/{DEPLOY}*" in s["resources"]]
    assert statement["actions"] == ["s3:GetObject"]
    assert statement["resources"] == [f"{BUCKET}/{DEPLOY}*"]


def test_master_secret_is_readable_only_during_the_bootstrap_window(
    app_statements: list[dict[str, Any]],
) -> None:
    secret_statements = [
        s for s in app_statements if any(a.startswith("secretsmanager:") for a in s["actions"])
    ]
    (statement,) = secret_statements
    assert statement["actions"] == ["secretsmanager:GetSecretValue"]
    assert statement["resources"] == ["${aws_db_instance.this.master_user_secret[0].secret_arn}"]
    (condition,) = statement["condition"]
    assert (condition["test"], condition["variable"]) == ("DateLessThan", "aws:CurrentTime")
    (until,) = condition["values"]
    assert references(until) >= {
        "terraform_data.db_bootstrap_window",
        "var.db_bootstrap_window_minutes",
    }


def test_bootstrap_window_opens_when_the_database_is_created(terraform: Terraform) -> None:
    window = terraform.resources["terraform_data.db_bootstrap_window"]
    assert window["input"] == "${timestamp()}"
    assert window["triggers_replace"] == ["${aws_db_instance.this.resource_id}"]
    (lifecycle,) = window["lifecycle"]
    assert lifecycle["ignore_changes"] == ["input"]


def test_app_role_gets_only_ssm_core_as_managed_policy(terraform: Terraform) -> None:
    attached = [
        body["policy_arn"]
        for body in terraform.of_type("aws_iam_role_policy_attachment").values()
        if body["role"] == "${aws_iam_role.app.name}"
    ]
    assert attached == ["arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"]


def test_app_role_can_only_be_assumed_by_ec2(terraform: Terraform) -> None:
    role = terraform.resources["aws_iam_role.app"]
    (statement,) = statements(terraform.policy_document(role["assume_role_policy"]))
    assert statement["actions"] == ["sts:AssumeRole"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["ec2.amazonaws.com"]}]


def test_logs_may_only_be_written_to_the_apps_log_group(
    app_statements: list[dict[str, Any]],
) -> None:
    (statement,) = [s for s in app_statements if any(a.startswith("logs:") for a in s["actions"])]
    assert set(statement["actions"]) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:DescribeLogStreams",
    }
    assert set(statement["resources"]) == {APP_LOG_GROUP, f"{APP_LOG_GROUP}:*"}
    assert "condition" not in statement
