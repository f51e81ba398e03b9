"""Who touched which file, who called the API, and what is failing: logs and alarms."""

from terraform_config import Terraform, references, statements

LOGS = "${aws_s3_bucket.logs.id}"


def test_files_bucket_access_logs_go_to_the_log_bucket(terraform: Terraform) -> None:
    logging = terraform.resources["aws_s3_bucket_logging.this"]
    assert logging["bucket"] == "${aws_s3_bucket.this.id}"
    assert logging["target_bucket"] == LOGS


def test_load_balancer_access_logs_go_to_the_log_bucket(terraform: Terraform) -> None:
    (access_logs,) = terraform.resources["aws_lb.this"]["access_logs"]
    assert access_logs["enabled"] is True
    assert access_logs["bucket"] == LOGS


def test_cloudtrail_records_object_events_of_the_files_bucket_by_default(
    terraform: Terraform,
) -> None:
    assert terraform.variable_default("cloudtrail_data_events") is True
    trail = terraform.resources["aws_cloudtrail.files"]
    assert trail["count"] == "${var.cloudtrail_data_events ? 1 : 0}"
    assert trail["s3_bucket_name"] == LOGS
    assert trail["enable_log_file_validation"] is True
    assert trail["kms_key_id"] == "${aws_kms_key.this.arn}"
    (selector,) = trail["advanced_event_selector"]
    fields = {f["field"]: f for f in selector["field_selector"]}
    assert fields["eventCategory"]["equals"] == ["Data"]
    assert fields["resources.type"]["equals"] == ["AWS::S3::Object"]
    assert fields["resources.ARN"]["starts_with"] == ["${aws_s3_bucket.this.arn}/"]


def test_log_bucket_admits_only_the_log_delivery_services(terraform: Terraform) -> None:
    policy = terraform.resources["aws_s3_bucket_policy.logs"]
    for statement in statements(terraform.policy_document(policy["policy"])):
        if statement.get("effect") == "Deny":
            continue
        assert set(statement["actions"]) <= {"s3:PutObject", "s3:GetBucketAcl"}
        (principal,) = statement["principals"]
        assert principal["identifiers"] != ["*"]


def test_log_bucket_is_private_and_expires_its_logs(terraform: Terraform) -> None:
    block = terraform.resources["aws_s3_bucket_public_access_block.logs"]
    assert all(block[key] is True for key in ("block_public_acls", "restrict_public_buckets"))
    (rule,) = terraform.resources["aws_s3_bucket_lifecycle_configuration.logs"]["rule"]
    (expiration,) = rule["expiration"]
    assert expiration["days"] == "${var.log_retention_days}"


def alarms(terraform: Terraform) -> dict[str, dict[str, object]]:
    return {
        str(body["metric_name"]): body
        for body in terraform.of_type("aws_cloudwatch_metric_alarm").values()
    }


def test_alarms_watch_errors_readiness_and_the_database(terraform: Terraform) -> None:
    assert {
        "HTTPCode_Target_5XX_Count",
        "HTTPCode_ELB_5XX_Count",
        "UnHealthyHostCount",
        "HealthyHostCount",
        "CPUUtilization",
        "FreeStorageSpace",
        "DatabaseConnections",
    } <= set(alarms(terraform))


def test_every_alarm_notifies_the_configured_actions(terraform: Terraform) -> None:
    for body in terraform.of_type("aws_cloudwatch_metric_alarm").values():
        assert body["alarm_actions"] == "${var.alarm_actions}"
        assert body["ok_actions"] == "${var.alarm_actions}"


def test_connection_alarm_follows_max_connections(terraform: Terraform) -> None:
    threshold = alarms(terraform)["DatabaseConnections"]["threshold"]
    assert "var.db_max_connections" in references(threshold)
