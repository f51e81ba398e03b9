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
}

run "apply" {
  command = apply

  assert {
    condition     = startswith(output.api_url, "https://")
    error_message = "the load-balanced API is served over HTTPS"
  }
}
