"""The app's log lines reach CloudWatch Logs: the service writes a file, the agent ships it."""

import configparser
import re

from terraform_config import TERRAFORM_DIR, Terraform

TEMPLATES = TERRAFORM_DIR / "templates"


def service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string((TEMPLATES / "stowage.service").read_text(encoding="utf-8"))
    return parser["Service"]


def test_app_log_group_keeps_logs_for_the_retention_variable_encrypted(
    terraform: Terraform,
) -> None:
    group = terraform.resources["aws_cloudwatch_log_group.app"]
    assert group["retention_in_days"] == "${var.log_retention_days}"
    assert group["kms_key_id"] == "${aws_kms_key.this.arn}"
    # The key policy lets CloudWatch Logs use the key for /stowage/<name>/* groups only.
    assert group["name"].startswith("/stowage/${var.name}/")


def test_service_appends_stdout_and_stderr_to_the_log_file(terraform: Terraform) -> None:
    unit = service()
    log_file = terraform.locals["app_log_file"]
    assert unit["StandardOutput"] == f"append:{log_file}"
    assert unit["StandardError"] == f"append:{log_file}"
    # ProtectSystem=strict leaves the service only the directories it is given.
    assert unit["ProtectSystem"] == "strict"
    assert log_file.startswith(f"/var/log/{unit['LogsDirectory']}/")


def test_cloudwatch_agent_ships_the_log_file_to_the_app_log_group(terraform: Terraform) -> None:
    config = terraform.locals["cloudwatch_agent_config"]
    assert "file_path = local.app_log_file" in config
    assert "log_group_name = aws_cloudwatch_log_group.app.name" in config
    assert 'log_stream_name = "{instance_id}"' in config
    # Retention belongs to Terraform; the agent would need logs:PutRetentionPolicy to set it.
    assert "retention_in_days" not in config


def test_first_boot_installs_configures_and_starts_the_agent(terraform: Terraform) -> None:
    assert "amazon-cloudwatch-agent" in terraform.locals["install_script"]
    assert "local.cloudwatch_agent_config" in terraform.locals["cloud_config"]["write_files"]
    script = (TEMPLATES / "install.sh.tftpl").read_text(encoding="utf-8")
    (command,) = [line for line in script.splitlines() if "amazon-cloudwatch-agent-ctl" in line]
    # fetch-config replaces the configuration and -s (re)starts the agent: safe on every retry.
    config_file = r"file:\$\{cloudwatch_agent_config_path\}$"
    assert re.search(rf"-a fetch-config -m ec2 -s -c {config_file}", command)
    assert script.index(command) < script.index('touch "$marker"')


def test_log_file_is_rotated_in_place(terraform: Terraform) -> None:
    rotation = (TEMPLATES / "logrotate-stowage").read_text(encoding="utf-8")
    assert rotation.splitlines()[3] == f"{terraform.locals['app_log_file']} {{"
    assert re.search(r"^\s+copytruncate$", rotation, re.MULTILINE)
    assert re.search(r"^\s+maxsize \d+M$", rotation, re.MULTILINE)
    assert "/etc/logrotate.d/stowage" in terraform.locals["cloud_config"]["write_files"]
