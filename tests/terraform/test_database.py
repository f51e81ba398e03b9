"""RDS PostgreSQL: AWS keeps the master password, the app logs in with IAM over TLS."""

from terraform_config import Terraform


def test_master_password_is_managed_by_rds_in_secrets_manager(terraform: Terraform) -> None:
    database = terraform.resources["aws_db_instance.this"]
    assert database["manage_master_user_password"] is True
    assert "password" not in database
    assert "password_wo" not in database


def test_app_logs_in_with_iam_authentication(terraform: Terraform) -> None:
    assert (
        terraform.resources["aws_db_instance.this"]["iam_database_authentication_enabled"] is True
    )


def test_parameter_group_forces_tls(terraform: Terraform) -> None:
    database = terraform.resources["aws_db_instance.this"]
    assert database["parameter_group_name"] == "${aws_db_parameter_group.this.name}"
    parameters = {
        p["name"]: p["value"]
        for p in terraform.resources["aws_db_parameter_group.this"]["parameter"]
    }
    assert parameters["rds.force_ssl"] == "1"


def test_engine_is_postgresql_16_or_newer(terraform: Terraform) -> None:
    database = terraform.resources["aws_db_instance.this"]
    assert database["engine"] == "postgres"
    assert database["engine_version"] == "${var.db_engine_version}"
    assert int(terraform.variable_default("db_engine_version").split(".")[0]) >= 16


def test_data_is_kept_safe_by_default(terraform: Terraform) -> None:
    database = terraform.resources["aws_db_instance.this"]
    assert database["storage_encrypted"] is True
    assert database["deletion_protection"] == "${var.db_deletion_protection}"
    assert terraform.variable_default("db_deletion_protection") is True
    assert database["skip_final_snapshot"] == "${var.db_skip_final_snapshot}"
    assert terraform.variable_default("db_skip_final_snapshot") is False
    assert database["backup_retention_period"] == "${var.db_backup_retention_days}"
    assert terraform.variable_default("db_backup_retention_days") >= 7
    assert database["multi_az"] == "${var.db_multi_az}"


def test_performance_insights_and_log_exports_are_on(terraform: Terraform) -> None:
    database = terraform.resources["aws_db_instance.this"]
    assert database["performance_insights_enabled"] is True
    assert database["enabled_cloudwatch_logs_exports"] == "${local.db_log_exports}"
    assert "postgresql" in terraform.locals["db_log_exports"]
