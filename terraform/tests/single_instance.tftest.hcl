# Plan and apply of the single-instance shape against the real provider schema, with a mocked AWS (no account).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name                   = "stowage-test"
  region                 = "eu-central-1"
  cors_allowed_origins   = ["https://app.example.com"]
  app_release_url        = "https://example.com/stowage-0.1.0-py3-none-any.whl"
  app_release_sha256     = "0000000000000000000000000000000000000000000000000000000000000000"
  instance_ingress_cidrs = ["203.0.113.0/24"]
}

run "plan" {
  command = plan

  assert {
    condition     = length(aws_instance.this) == 1 && length(aws_autoscaling_group.this) == 0
    error_message = "the single-instance shape runs one instance and no Auto Scaling Group"
  }
}

run "apply" {
  command = apply

  assert {
    condition     = startswith(output.api_url, "http")
    error_message = "api_url must be a URL"
  }
}
