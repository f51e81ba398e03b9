"""Every name derived from var.name fits AWS's limits at the longest name the validation accepts."""

import re

import pytest
from terraform_config import Terraform

LONGEST_NAME = "a" * 22

# (resource type, attribute): the most characters AWS (or the provider, for prefixes) accepts.
LIMITS = {
    ("aws_iam_role", "name_prefix"): 38,
    ("aws_iam_instance_profile", "name_prefix"): 102,
    ("aws_db_instance", "identifier"): 63,
    ("aws_db_instance", "final_snapshot_identifier"): 255,
    ("aws_db_subnet_group", "name_prefix"): 229,
    ("aws_db_parameter_group", "name_prefix"): 229,
    ("aws_security_group", "name_prefix"): 229,
    ("aws_launch_template", "name_prefix"): 99,
    ("aws_autoscaling_group", "name_prefix"): 229,
    ("aws_autoscaling_policy", "name"): 255,
    ("aws_cloudwatch_log_group", "name"): 512,
    ("aws_cloudwatch_metric_alarm", "alarm_name"): 255,
    ("aws_kms_alias", "name"): 256,
    ("aws_s3_bucket", "bucket_prefix"): 37,
    ("aws_cloudtrail", "name"): 128,
    ("aws_lb", "name_prefix"): 6,
    ("aws_lb_target_group", "name_prefix"): 6,
}
NAME_ATTRIBUTES = {attribute for _type, attribute in LIMITS}


def derived(terraform: Terraform, expression: str, name: str) -> str:
    """The expression with var.name (directly or through a local) and the engine major filled in."""
    # `cond ? "<name>-files-" : null`: the name is the string literal.
    if literal := re.fullmatch(r'\$\{[^"]* \? "(.*)" : null\}', expression):
        expression = literal.group(1)
    value = expression.replace("${local.db_identifier}", terraform.locals["db_identifier"])
    value = value.replace("${var.name}", name).replace("${local.db_major}", "17")
    # The longest of the log exports (for_each keys).
    value = value.replace("${each.key}", max(terraform.locals["db_log_exports"], key=len))
    assert "${" not in value, f"cannot evaluate {expression!r}: teach this test"
    return value


def derived_names(terraform: Terraform) -> list[tuple[str, str, str]]:
    """(address, attribute, expression) of every name-like attribute made from var.name."""
    return [
        (address, attribute, body[attribute])
        for address, body in terraform.resources.items()
        for attribute in sorted(NAME_ATTRIBUTES & set(body))
        if re.search(r"\$\{(var\.name|local\.db_identifier)\}", str(body[attribute]))
    ]


def test_every_derived_name_has_a_known_limit(terraform: Terraform) -> None:
    names = derived_names(terraform)
    assert len(names) > 10
    for address, attribute, _expression in names:
        assert (address.split(".")[0], attribute) in LIMITS, f"{address}.{attribute}: add its limit"


@pytest.mark.parametrize("name", ["abc", "a-b", LONGEST_NAME, "s" + "-x" * 10 + "z"])
def test_derived_names_fit_their_limits(terraform: Terraform, name: str) -> None:
    for address, attribute, expression in derived_names(terraform):
        value = derived(terraform, expression, name)
        limit = LIMITS[(address.split(".")[0], attribute)]
        assert len(value) <= limit, f"{address}.{attribute} = {value!r} exceeds {limit}"
        assert "--" not in value, f"{address}.{attribute} = {value!r}"


def test_name_validation_stops_at_the_tightest_limit(terraform: Terraform) -> None:
    (rule, *_others) = terraform.variables["name"]["validation"]
    assert "{1,20}" in rule["condition"], "3-22 characters"
    monitoring = terraform.resources["aws_iam_role.rds_monitoring"]["name_prefix"]
    assert len(derived(terraform, monitoring, LONGEST_NAME)) == 38
