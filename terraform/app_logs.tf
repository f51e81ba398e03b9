# The API's own log lines (JSON, one per line: LOG_FORMAT=auto writes JSON when not on a terminal). systemd appends
# the service's stdout and stderr to /var/log/stowage/app.log (templates/stowage.service), logrotate keeps that file
# small (templates/logrotate-stowage), and the CloudWatch agent ships it to this group, one stream per instance.

resource "aws_cloudwatch_log_group" "app" {
  name              = "/stowage/${var.name}/app"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

locals {
  app_log_file = "/var/log/stowage/app.log"

  # No retention_in_days here: Terraform owns the group's retention, and the agent needs no logs:PutRetentionPolicy.
  cloudwatch_agent_config = jsonencode({
    agent = {
      region = var.region
    }
    logs = {
      logs_collected = {
        files = {
          collect_list = [
            {
              file_path       = local.app_log_file
              log_group_name  = aws_cloudwatch_log_group.app.name
              log_stream_name = "{instance_id}"
              timezone        = "UTC"
            },
          ]
        }
      }
      force_flush_interval = 5
    }
  })
}
