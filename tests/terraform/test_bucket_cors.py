"""One list of web origins feeds both CORS sides on AWS, with the rule the dev bucket uses."""

from terraform_config import Terraform

from backend.local.seaweedfs import bucket_cors_rule


def test_the_bucket_rule_on_aws_is_the_one_scripts_dev_applies(terraform: Terraform) -> None:
    (configuration,) = terraform.of_type("aws_s3_bucket_cors_configuration").values()
    (rule,) = configuration["cors_rule"]
    local = bucket_cors_rule(["https://app.example.com"])
    assert sorted(rule["allowed_methods"]) == sorted(local["AllowedMethods"])
    assert rule["allowed_headers"] == local["AllowedHeaders"]
    assert sorted(rule["expose_headers"]) == sorted(local["ExposeHeaders"])
    assert rule["allowed_origins"] == "${var.cors_allowed_origins}"


def test_the_app_allows_the_same_origins_as_the_bucket(terraform: Terraform) -> None:
    environment = terraform.locals["app_environment"]
    assert 'CORS_ALLOW_ORIGINS = join(",", var.cors_allowed_origins)' in environment
