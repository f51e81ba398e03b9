"""`scripts/validate-terraform` checks the configuration against the real AWS provider schema.

It runs `terraform validate` and `terraform test` offline with a provider binary from a filesystem
mirror. Where the machine has none, the script says so and these tests are skipped.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from terraform_config import TERRAFORM_DIR

SCRIPT = TERRAFORM_DIR.parent / "scripts" / "validate-terraform"


def validate(module: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", str(SCRIPT), str(module)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.fixture(scope="module")
def schema_available() -> subprocess.CompletedProcess[str]:
    """The script's run on the real configuration (once per module); skips where it cannot."""
    probe = validate(TERRAFORM_DIR)
    if "SKIPPED" in probe.stdout:
        pytest.skip(probe.stdout.strip())
    return probe


def planted_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    module = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, module, ignore=shutil.ignore_patterns(".terraform", "tests"))
    path = module / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return module


def test_configuration_validates_against_the_provider_schema(
    schema_available: subprocess.CompletedProcess[str],
) -> None:
    result = schema_available
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"OK, .* hashicorp/aws \d+\.\d+\.\d+", result.stdout)


@pytest.mark.usefixtures("schema_available")
def test_an_argument_the_provider_does_not_know_is_caught(tmp_path: Path) -> None:
    module = planted_copy(
        tmp_path, "network.tf", "enable_dns_support   = true", "enable_dns_suport = true"
    )
    result = validate(module)
    assert result.returncode != 0
    assert "Unsupported argument" in result.stderr
    assert "enable_dns_suport" in result.stderr


@pytest.mark.usefixtures("schema_available")
def test_a_missing_required_argument_is_caught(tmp_path: Path) -> None:
    family = '  family      = "postgres${local.db_major}"\n'
    module = planted_copy(tmp_path, "database.tf", family, "")
    result = validate(module)
    assert result.returncode != 0
    assert "Missing required argument" in result.stderr
    assert '"family"' in result.stderr


@pytest.mark.usefixtures("schema_available")
def test_a_deprecated_argument_is_caught(tmp_path: Path) -> None:
    # `vpc` on aws_eip is deprecated in 5.x and gone in 6.x.
    module = planted_copy(tmp_path, "network.tf", '  domain = "vpc"', "  vpc = true")
    result = validate(module)
    assert result.returncode != 0
    assert "warnings" in result.stderr
    assert "deprecated" in result.stderr.lower()
