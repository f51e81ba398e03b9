output "api_url" {
  description = "Base URL of the API."
  value = (
    local.lb_enabled
    ? "https://${coalesce(var.api_domain_name, aws_lb.this[0].dns_name)}"
    : "http://${aws_instance.this[0].public_dns}:${var.app_port}"
  )
}

output "load_balancer_dns_name" {
  description = "DNS name of the load balancer to point api_domain_name at (null with allow_plain_http)."
  value       = local.lb_enabled ? aws_lb.this[0].dns_name : null
}

output "bucket_name" {
  description = "Name of the files bucket."
  value       = aws_s3_bucket.this.bucket
}

output "db_endpoint" {
  description = "Host name and port of the PostgreSQL database (reachable from the app instances only)."
  value       = aws_db_instance.this.endpoint
}

output "db_master_secret_arn" {
  description = "ARN of the Secrets Manager secret, managed and rotated by RDS, holding the master user's credentials."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "instance_id" {
  description = "ID of the single API instance (null when load_balanced = true)."
  value       = var.load_balanced ? null : aws_instance.this[0].id
}

output "autoscaling_group_name" {
  description = "Name of the Auto Scaling Group (null when load_balanced = false)."
  value       = var.load_balanced ? aws_autoscaling_group.this[0].name : null
}

output "app_role_arn" {
  description = "ARN of the IAM role the API instances run as."
  value       = aws_iam_role.app.arn
}

output "app_environment" {
  description = "The environment the app runs with (/etc/stowage/stowage.env on each instance, which adds METRICS_ENABLED and METRICS_TOKEN when metrics_token is set); it holds no secrets."
  value       = local.app_environment
}

output "ssm_session_command" {
  description = "How to open a shell on the single instance through Session Manager."
  value       = var.load_balanced ? null : "aws ssm start-session --region ${var.region} --target ${aws_instance.this[0].id}"
}

output "connection_budget" {
  description = "How the database's max_connections is shared: threads and pool per worker process, and the most connections all instances' processes can open."
  value = {
    db_max_connections      = var.db_max_connections
    reserved                = local.db_reserved_connections
    instances_at_most       = local.app_instances_max
    processes_per_instance  = var.web_concurrency
    worker_threads          = local.worker_threads
    database_pool_size      = local.db_pool_size
    s3_max_concurrent_calls = local.s3_max_concurrent_calls
    app_connections_at_most = local.db_app_connections_at_most
  }
}

output "app_log_group_name" {
  description = "CloudWatch Logs group of the app's log lines, one stream per instance id."
  value       = aws_cloudwatch_log_group.app.name
}

output "app_security_group_id" {
  description = "Security group of the API instances: admit a Prometheus scraper's group to app_port here to read /metrics."
  value       = aws_security_group.app.id
}
