# CloudWatch alarms on what breaks the service: server errors and unready instances at the load balancer, and the
# database's CPU, free storage and connections. They notify alarm_actions (SNS topic ARNs) when set; without them they
# still show their state in the console.

locals {
  alarm_prefix = "${var.name}-"
  lb_dimensions = local.lb_enabled ? {
    LoadBalancer = aws_lb.this[0].arn_suffix
    TargetGroup  = aws_lb_target_group.this[0].arn_suffix
  } : {}
}

resource "aws_cloudwatch_metric_alarm" "target_5xx" {
  count = local.lb_enabled ? 1 : 0

  alarm_name          = "${local.alarm_prefix}api-5xx"
  alarm_description   = "The API answered more than ${var.alarm_5xx_per_5_minutes} server errors (5xx) in 5 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_Target_5XX_Count"
  dimensions          = local.lb_dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_5xx_per_5_minutes
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "lb_5xx" {
  count = local.lb_enabled ? 1 : 0

  alarm_name          = "${local.alarm_prefix}lb-5xx"
  alarm_description   = "The load balancer itself answered more than ${var.alarm_5xx_per_5_minutes} errors (5xx: no ready target, timeouts) in 5 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_ELB_5XX_Count"
  dimensions          = { LoadBalancer = aws_lb.this[0].arn_suffix }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_5xx_per_5_minutes
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

# Readiness: the target group checks /health/ready. Instances are not replaced for failing it (compute.tf), so this
# alarm is how a database or bucket outage that lasts is noticed.
resource "aws_cloudwatch_metric_alarm" "unready_hosts" {
  count = local.lb_enabled ? 1 : 0

  alarm_name          = "${local.alarm_prefix}unready-instances"
  alarm_description   = "At least one instance has failed GET /health/ready (database or bucket unreachable) for 5 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = local.lb_dimensions
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "breaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "no_ready_host" {
  count = local.lb_enabled ? 1 : 0

  alarm_name          = "${local.alarm_prefix}no-ready-instance"
  alarm_description   = "No instance has passed GET /health/ready for 3 minutes: the API is down."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HealthyHostCount"
  dimensions          = local.lb_dimensions
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

# The single instance: EC2's own status checks (the load balancer's alarms above cover its readiness).
resource "aws_cloudwatch_metric_alarm" "instance_status" {
  count = var.load_balanced ? 0 : 1

  alarm_name          = "${local.alarm_prefix}instance-status"
  alarm_description   = "The API instance has failed its EC2 status checks for 5 minutes."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed"
  dimensions          = { InstanceId = aws_instance.this[0].id }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "breaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "db_cpu" {
  alarm_name          = "${local.alarm_prefix}db-cpu"
  alarm_description   = "The database's CPU has been above 80% for 15 minutes."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = { DBInstanceIdentifier = aws_db_instance.this.identifier }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 80
  treat_missing_data  = "missing"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "db_storage" {
  alarm_name          = "${local.alarm_prefix}db-free-storage"
  alarm_description   = "The database has had less than 2 GiB free for 5 minutes: storage autoscaling has reached db_max_allocated_storage_gb or not kept up."
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = { DBInstanceIdentifier = aws_db_instance.this.identifier }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = 2 * 1024 * 1024 * 1024
  treat_missing_data  = "missing"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

# The app's pools are sized to stay under this (connections.tf); nearing it means something else is connecting.
resource "aws_cloudwatch_metric_alarm" "db_connections" {
  alarm_name          = "${local.alarm_prefix}db-connections"
  alarm_description   = "The database has had more than 90% of max_connections (${var.db_max_connections}) open for 10 minutes."
  namespace           = "AWS/RDS"
  metric_name         = "DatabaseConnections"
  dimensions          = { DBInstanceIdentifier = aws_db_instance.this.identifier }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = floor(var.db_max_connections * 0.9)
  treat_missing_data  = "missing"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}
