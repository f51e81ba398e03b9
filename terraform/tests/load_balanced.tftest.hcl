# Plan and apply of the load-balanced shape against the real provider schema, with a mocked AWS (no account).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name                 = "stowage-test"
  region               = "eu-central-1"
  cors_allowed_origins = ["https://app.example.com"]
  app_release_url      = "https://example.com/stowage-0.1.0-py3-none-any.whl"
  app_release_sha256   = "0000000000000000000000000000000000000000000000000000000000000000"
  load_balanced        = true
  certificate_arn      = "arn:aws:acm:eu-central-1:111122223333:certificate/00000000-0000-0000-0000-000000000000"
}

run "plan" {
  command = plan

  assert {
    condition     = length(aws_instance.this) == 0 && length(aws_autoscaling_group.this) == 1
    error_message = "the load-balanced shape runs an Auto Scaling Group and no single instance"
  }

  assert {
    condition     = aws_autoscaling_group.this[0].health_check_type == "EC2" && aws_lb_target_group.this[0].health_check[0].path == "/health/ready"
    error_message = "the load balancer routes on readiness; the group replaces only instances EC2 finds broken"
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.unready_hosts) == 1 && length(aws_cloudwatch_metric_alarm.no_ready_host) == 1
    error_message = "readiness failures raise alarms"
  }
}

run "apply" {
  command = apply

  assert {
    condition     = startswith(output.api_url, "https://")
    error_message = "the load-balanced API is served over HTTPS"
  }

  # EC2 takes at most 16 KiB of user data before base64; even uncompressed it must fit.
  assert {
    condition     = length(local.user_data) < 16384
    error_message = "the user data must stay under EC2's 16 KiB limit"
  }
}

run "interface_endpoints_and_narrow_egress" {
  command = plan

  variables {
    vpc_interface_endpoints = true
    app_egress_cidrs        = ["10.20.50.0/28"]
  }

  assert {
    condition     = length(aws_vpc_endpoint.interface) == 5 && keys(aws_vpc_security_group_egress_rule.app_https) == ["10.20.50.0/28"]
    error_message = "with interface endpoints, general HTTPS egress narrows to the mirror's addresses"
  }
}
