"""Prometheus metrics: on only with a token, never served to the internet by the load balancer."""

from terraform_config import Terraform, references


def test_metrics_token_is_an_optional_secret(terraform: Terraform) -> None:
    variable = terraform.variables["metrics_token"]
    assert variable["sensitive"] is True
    assert variable.get("default") is None
    conditions = [v["condition"] for v in variable["validation"]]
    assert any("length(" in c and ">= 16" in c for c in conditions)


def test_metrics_are_on_exactly_when_a_token_is_given(terraform: Terraform) -> None:
    assert terraform.locals["metrics_enabled"] == "${nonsensitive(var.metrics_token != null)}"
    assert terraform.locals["app_metrics_environment"] == (
        "${local.metrics_enabled ? "
        '{METRICS_ENABLED = "true", METRICS_TOKEN = var.metrics_token} : {}}'
    )


def test_the_token_reaches_the_environment_file_but_not_the_output(terraform: Terraform) -> None:
    assert "local.app_metrics_environment" in terraform.locals["app_environment_file"]
    assert "METRICS" not in terraform.locals["app_environment"]
    assert "metrics" not in str(references(terraform.locals["app_environment"]))


def test_load_balancer_answers_404_for_metrics_itself(terraform: Terraform) -> None:
    rule = terraform.resources["aws_lb_listener_rule.metrics_not_public"]
    # Not gated on metrics_token: the path is closed at the edge whatever the app serves.
    assert rule["count"] == "${local.lb_enabled ? 1 : 0}"
    assert rule["listener_arn"] == "${aws_lb_listener.https[0].arn}"
    (condition,) = rule["condition"]
    (pattern,) = condition["path_pattern"]
    assert set(pattern["values"]) == {"/metrics", "/metrics/*"}
    (action,) = rule["action"]
    assert action["type"] == "fixed-response"
    (response,) = action["fixed_response"]
    assert response["status_code"] == "404"
