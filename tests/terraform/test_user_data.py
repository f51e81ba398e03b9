"""What every instance boots with: an environment without secrets, a non-root service."""

import configparser
import re
import subprocess
from pathlib import Path

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


def test_api_runs_as_a_non_root_service_that_never_stops_retrying() -> None:
    api = unit("stowage.service")
    service = api["Service"]
    assert service["User"] == "stowage"
    assert service["Restart"] == "always"
    assert service["ExecStart"].endswith("-m backend serve")
    assert service["NoNewPrivileges"] == "yes"
    assert api["Unit"]["StartLimitIntervalSec"] == "0"


def test_migrations_run_before_the_api_starts() -> None:
    service = unit("stowage.service")["Service"]
    assert service["ExecStartPre"].endswith("-m backend db upgrade")
    assert "stowage-install.service" in unit("stowage.service")["Unit"]["After"].split()


def test_first_boot_is_retried_until_it_succeeds() -> None:
    install = unit("stowage-install.service")
    assert install["Service"]["Type"] == "oneshot"
    assert install["Service"]["Restart"] == "on-failure"
    assert int(install["Service"]["RestartSec"]) >= 10
    assert install["Unit"]["StartLimitIntervalSec"] == "0", "never give up"
    assert install["Service"]["ExecStart"] == "/usr/local/sbin/stowage-install"


def test_cloud_init_only_starts_the_retried_install(terraform: Terraform) -> None:
    cloud_config = terraform.locals["cloud_config"]
    assert "packages" not in cloud_config, "a failed package install would not be retried"
    assert "stowage-install.service" in str(cloud_config["runcmd"])
    assert "--no-block" in str(cloud_config["runcmd"])


def test_install_is_safe_to_repeat_and_starts_the_api_last() -> None:
    script = (TEMPLATES / "install.sh.tftpl").read_text(encoding="utf-8")
    assert script.startswith("#!/bin/sh\n")
    assert "set -eu" in script
    assert script.index('if [ -f "$marker" ]') < script.index("dnf install")
    assert script.index("bootstrap_db.py") < script.index('touch "$marker"')
    start_api = script.index("systemctl enable --now --no-block stowage.service")
    assert script.index('touch "$marker"') < start_api


def test_dependencies_come_only_from_the_hashed_lock() -> None:
    script = (TEMPLATES / "install.sh.tftpl").read_text(encoding="utf-8")
    pip_installs = [line for line in script.splitlines() if "bin/pip install" in line]
    assert len(pip_installs) == 2
    lock_install, app_install = pip_installs
    assert "--require-hashes" in lock_install
    assert '-r "$lock"' in lock_install
    # The app itself adds nothing unpinned: its dependencies all came from the lock.
    assert "--no-deps" in app_install
    assert "sha256sum --check" in script
    assert "--upgrade" not in script


def test_liveness_restarts_the_process_but_never_on_readiness() -> None:
    check = unit("stowage-liveness.service")["Service"]["ExecStart"]
    assert "/health/live" in check
    assert "/health/ready" not in check
    assert "systemctl restart stowage.service" in check
    # systemd turns $$ into $ and hands the quoted command to sh -c.
    command = check.removeprefix("/bin/sh -c '").removesuffix("'").replace("$$", "$")
    result = subprocess.run(["/bin/sh", "-n", "-c", command], capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
    assert unit("stowage-liveness.timer")["Timer"]["OnUnitActiveSec"]


def test_bootstrap_is_serialised_and_idempotent() -> None:
    source = (TEMPLATES / "bootstrap_db.py").read_text(encoding="utf-8")
    compile(source, "bootstrap_db.py", "exec")
    assert "GRANT rds_iam TO {}" in source
    assert 'sslmode": "verify-full"' in source
    lock = source.index("pg_advisory_xact_lock")
    assert lock < source.index("CREATE ROLE"), "lock before creating"
    assert "SELECT 1 FROM pg_roles WHERE rolname" in source
    assert "conn.transaction()" in source
    # An app user that can already log in means no master secret is read at all.
    assert source.index("app_user_can_log_in(args)") < source.index("bootstrap(args)\n")


def test_rendered_install_script_is_valid_shell(tmp_path: Path) -> None:
    template = (TEMPLATES / "install.sh.tftpl").read_text(encoding="utf-8")
    rendered = re.sub(r"\$\{[a-z0-9_]+\}", "placeholder", template)
    assert "${" not in rendered
    script = tmp_path / "stowage-install"
    script.write_text(rendered, encoding="utf-8")
    result = subprocess.run(["/bin/sh", "-n", str(script)], capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
