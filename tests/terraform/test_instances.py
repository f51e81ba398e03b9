"""Every way an API instance can be started requires IMDSv2 and encrypts its disk."""

from typing import Any

from terraform_config import Terraform


def launch_definitions(terraform: Terraform) -> dict[str, dict[str, Any]]:
    found = {**terraform.of_type("aws_instance"), **terraform.of_type("aws_launch_template")}
    assert terraform.of_type("aws_launch_configuration") == {}, "use launch templates"
    return found


def test_there_is_a_single_instance_and_a_launch_template(terraform: Terraform) -> None:
    assert set(launch_definitions(terraform)) == {"aws_instance.this", "aws_launch_template.this"}


def test_every_launch_definition_requires_imdsv2_with_hop_limit_1(terraform: Terraform) -> None:
    definitions = launch_definitions(terraform)
    assert definitions
    for address, body in definitions.items():
        (options,) = body["metadata_options"]
        assert options["http_tokens"] == "required", address
        # One hop: a container on the instance cannot reach the role's credentials.
        assert options["http_put_response_hop_limit"] == 1, address
        assert options.get("http_endpoint", "enabled") == "enabled", address


def test_root_volumes_are_encrypted(terraform: Terraform) -> None:
    (instance_root,) = terraform.resources["aws_instance.this"]["root_block_device"]
    assert instance_root["encrypted"] is True
    (mapping,) = terraform.resources["aws_launch_template.this"]["block_device_mappings"]
    (ebs,) = mapping["ebs"]
    assert ebs["encrypted"] is True


def test_instances_run_with_the_app_instance_profile(terraform: Terraform) -> None:
    assert terraform.resources["aws_instance.this"]["iam_instance_profile"] == (
        "${aws_iam_instance_profile.app.name}"
    )
    (profile,) = terraform.resources["aws_launch_template.this"]["iam_instance_profile"]
    assert profile["arn"] == "${aws_iam_instance_profile.app.arn}"
    assert terraform.resources["aws_iam_instance_profile.app"]["role"] == "${aws_iam_role.app.name}"


def test_load_balancer_routes_on_readiness_but_the_group_replaces_only_broken_instances(
    terraform: Terraform,
) -> None:
    # A database failover fails readiness everywhere at once; that must not replace every instance.
    group = terraform.resources["aws_autoscaling_group.this"]
    assert group["health_check_type"] == "EC2"
    assert group["target_group_arns"] == ["${aws_lb_target_group.this[0].arn}"]
    (health_check,) = terraform.resources["aws_lb_target_group.this"]["health_check"]
    assert health_check["path"] == "/health/ready"
