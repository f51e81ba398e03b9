"""What every instance boots with: an environment without secrets, a non-root service."""

import configparser
import re

from terraform_config import TERRAFORM_DIR, Terraform

from backend.settings import describe_settings

TEMPLATES = TERRAFORM_DIR / "templates"


def app_environment_keys(terraform: Terraform) -> set[str]:
    return set(re.findall(r"\b([A-Z][A-Z0-9_]*) = ", terraform.locals["app_environment"]))


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string((TEMPLATES / name).read_text(encoding="utf-8"))
    return parser


def test_app_environment_carries_what_the_app_reads(terraform: Terraform) -> None:
    assert {
        "DATABASE_URL",
        "DATABASE_IAM_AUTH",
        "S3_BUCKET",
        "S3_KEY_PREFIX",
        "AWS_REGION",
        "UPLOAD_URL_TTL_SECONDS",
        "DOWNLOAD_URL_TTL_SECONDS",
        "PORT",
        "WEB_CONCURRENCY",
        "SWEEP_INTERVAL_SECONDS",
    } <= app_environment_keys(terraform)
    assert 'DATABASE_IAM_AUTH = "true"' in terraform.locals["app_environment"]


def test_the_deployment_sweeps_in_the_background_by_default(terraform: Terraform) -> None:
    written = terraform.locals["app_environment"]
    assert "SWEEP_INTERVAL_SECONDS = tostring(var.sweep_interval_seconds)" in written
    assert terraform.variables["sweep_interval_seconds"]["default"] > 0


def test_every_variable_written_is_one_the_app_reads(terraform: Terraform) -> None:
    # A renamed or misspelt setting would be ignored silently by the app: catch it here.
    known = {name for name, _default, _description in describe_settings()}
    assert app_environment_keys(terraform) <= known
    required = {
        name for name, default, _description in describe_settings() if default == "required"
    }
    assert required <= app_environment_keys(terraform)


def test_app_environment_holds_no_credentials(terraform: Terraform) -> None:
    for key in app_environment_keys(terraform):
        assert not re.search(r"ACCESS_KEY|SECRET|PASSWORD|TOKEN|S3_ENDPOINT_URL", key), key
    (url,) = re.findall(r'DATABASE_URL = "([^"]+)"', terraform.locals["app_environment"])
    user_info = url.removeprefix("postgresql://").split("@", 1)[0]
    assert ":" not in user_info, "no password in DATABASE_URL: the app logs in with IAM"
    assert "sslmode=verify-full" in url


def test_api_runs_as_a_non_root_service_that_restarts_on_failure() -> None:
    service = unit("stowage.service")["Service"]
    assert service["User"] == "stowage"
    assert service["Restart"] == "on-failure"
    assert service["ExecStart"].endswith("-m backend serve")
    assert service["NoNewPrivileges"] == "yes"


def test_migrations_run_before_the_api_starts() -> None:
    api = unit("stowage.service")["Unit"]
    assert "stowage-migrate.service" in api["Requires"].split()
    assert "stowage-migrate.service" in api["After"].split()
    migrate = unit("stowage-migrate.service")["Service"]
    assert migrate["User"] == "stowage"
    assert migrate["ExecStart"].endswith("-m backend db upgrade")


def test_first_boot_creates_the_database_user_before_starting_the_api() -> None:
    script = (TEMPLATES / "install.sh.tftpl").read_text(encoding="utf-8")
    assert script.index("bootstrap_db.py") < script.index("systemctl enable --now stowage.service")
    assert script.startswith("#!/bin/sh\n")
    assert "set -eu" in script


def test_bootstrap_grants_iam_login_to_the_app_user() -> None:
    source = (TEMPLATES / "bootstrap_db.py").read_text(encoding="utf-8")
    compile(source, "bootstrap_db.py", "exec")
    assert "GRANT rds_iam TO {}" in source
    assert 'sslmode="verify-full"' in source
