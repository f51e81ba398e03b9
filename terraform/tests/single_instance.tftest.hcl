# Plan and apply of the single-instance shape against the real provider schema, with a mocked AWS (no account).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name                 = "stowage-test"
  region               = "eu-central-1"
  cors_allowed_origins = ["https://app.example.com"]
  app_release_url      = "https://example.com/stowage-0.1.0-py3-none-any.whl"
  app_release_sha256   = "0000000000000000000000000000000000000000000000000000000000000000"
  certificate_arn      = "arn:aws:acm:eu-central-1:111122223333:certificate/00000000-0000-0000-0000-000000000000"
  api_domain_name      = "api.example.com"
}

run "plan" {
  command = plan

  assert {
    condition     = length(aws_instance.this) == 1 && length(aws_autoscaling_group.this) == 0
    error_message = "the single-instance shape runs one instance and no Auto Scaling Group"
  }

  assert {
    condition     = length(aws_lb_target_group_attachment.single) == 1 && length(aws_vpc_security_group_ingress_rule.app_direct) == 0
    error_message = "the single instance is reached through the HTTPS load balancer only"
  }

  assert {
    condition = (
      jsondecode(local.cloudwatch_agent_config).logs.logs_collected.files.collect_list[0].file_path == "/var/log/stowage/app.log"
      && jsondecode(local.cloudwatch_agent_config).logs.logs_collected.files.collect_list[0].log_group_name == "/stowage/stowage-test/app"
      && aws_cloudwatch_log_group.app.retention_in_days == 365
    )
    error_message = "the CloudWatch agent ships the app's log file to the app's log group, kept for log_retention_days"
  }

  assert {
    condition     = length(local.app_metrics_environment) == 0 && length(aws_lb_listener_rule.metrics_not_public) == 1
    error_message = "metrics are off without metrics_token, and the load balancer keeps /metrics closed all the same"
  }
}

run "metrics_with_a_token" {
  command = plan

  variables {
    #checkov:skip=CKV_SECRET_6:A made-up token for a plan against the mocked provider; it protects nothing.
    metrics_token = "mock-metrics-token-for-tests"
  }

  assert {
    condition     = local.app_metrics_environment["METRICS_ENABLED"] == "true" && local.app_metrics_environment["METRICS_TOKEN"] == "mock-metrics-token-for-tests"
    error_message = "metrics_token turns metrics on and protects them with the token"
  }

  assert {
    condition     = !contains(keys(local.app_environment), "METRICS_TOKEN")
    error_message = "the token stays out of the app_environment output"
  }
}

run "apply" {
  command = apply

  assert {
    condition     = output.api_url == "https://api.example.com"
    error_message = "the single instance is served over HTTPS at api_domain_name"
  }

  assert {
    condition     = length(aws_cloudtrail.files) == 1
    error_message = "object-level CloudTrail events are on by default"
  }
}

run "plain_http_opt_out" {
  command = apply

  variables {
    certificate_arn        = null
    allow_plain_http       = true
    instance_ingress_cidrs = ["203.0.113.0/24"]
    cloudtrail_data_events = false
  }

  assert {
    condition     = length(aws_lb.this) == 0 && startswith(output.api_url, "http://")
    error_message = "allow_plain_http serves the instance directly, without a load balancer"
  }

  assert {
    condition     = length(aws_cloudtrail.files) == 0
    error_message = "cloudtrail_data_events = false creates no trail"
  }
}
