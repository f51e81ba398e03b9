"""Every input is typed and described; the example tfvars is a complete starting point."""

import re

import hcl2
from hcl2.utils import SerializationOptions
from terraform_config import TERRAFORM_DIR, Terraform


def example_tfvars() -> dict[str, object]:
    options = SerializationOptions(strip_string_quotes=True, with_comments=False)
    with (TERRAFORM_DIR / "terraform.tfvars.example").open(encoding="utf-8") as handle:
        return hcl2.load(handle, serialization_options=options)


def test_every_variable_is_typed_and_described(terraform: Terraform) -> None:
    assert terraform.variables
    for name, body in terraform.variables.items():
        assert body.get("type"), f"variable {name} has no type"
        description = body.get("description", "")
        assert len(description) >= 15, f"variable {name} needs a real description"


def test_every_validation_explains_itself(terraform: Terraform) -> None:
    for name, body in terraform.variables.items():
        for validation in body.get("validation", []):
            assert f"var.{name}" in validation["condition"], name
            assert validation["error_message"].endswith("."), name


def test_every_variable_is_used(terraform: Terraform) -> None:
    text = "\n".join(
        path.read_text(encoding="utf-8")
        for path in TERRAFORM_DIR.glob("*.tf")
        if path.name != "variables.tf"
    )
    unused = {name for name in terraform.variables if not re.search(rf"\bvar\.{name}\b", text)}
    assert unused == set()


def test_example_tfvars_sets_every_required_variable_and_only_declared_ones(
    terraform: Terraform,
) -> None:
    example = example_tfvars()
    required = {name for name, body in terraform.variables.items() if "default" not in body}
    assert required <= set(example)
    assert set(example) <= set(terraform.variables)


def test_example_tfvars_shows_every_required_variable_commented_or_not(
    terraform: Terraform,
) -> None:
    text = (TERRAFORM_DIR / "terraform.tfvars.example").read_text(encoding="utf-8")
    # The commented-out alternatives must name real variables too.
    for name in re.findall(r"^#\s*([a-z_]+)\s*=", text, flags=re.MULTILINE):
        assert name in terraform.variables, name


def test_no_region_or_account_id_is_hard_coded_outside_variables() -> None:
    region = re.compile(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d\b")
    account = re.compile(r"\b\d{12}\b")
    for path in TERRAFORM_DIR.glob("*.tf"):
        if path.name == "variables.tf":
            continue
        text = path.read_text(encoding="utf-8")
        assert not region.search(text), f"{path.name}: region literal"
        assert not account.search(text), f"{path.name}: account id literal"
