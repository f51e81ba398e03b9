# HTTPS Application Load Balancer in front of the Auto Scaling Group, or of the single instance unless allow_plain_http
# is set. TLS ends here; port 80 only redirects.

locals {
  lb_enabled = !var.allow_plain_http
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:WAF is a priced add-on left to the operator; every request that reads or changes files needs an API key or access token, and the open routes are the health checks and the API docs.
  count = local.lb_enabled ? 1 : 0

  name_prefix                = "stwg-"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = aws_subnet.public[*].id
  security_groups            = [aws_security_group.lb[0].id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.db_deletion_protection

  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = "lb"
    enabled = true
  }

  tags = { Name = var.name }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; the hop to the app stays inside the VPC, between two security groups that admit only each other.
  count = local.lb_enabled ? 1 : 0

  name_prefix          = "stwg-"
  vpc_id               = aws_vpc.this.id
  port                 = var.app_port
  protocol             = "HTTP"
  target_type          = "instance"
  deregistration_delay = 30

  health_check {
    path                = "/health/ready"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "https" {
  count = local.lb_enabled ? 1 : 0

  load_balancer_arn = aws_lb.this[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this[0].arn
  }
}

# /metrics is for a scraper inside the VPC, never for the internet: the load balancer answers 404 itself, whether or not
# the app serves metrics (metrics_token), so the path stays closed even if the token leaks.
resource "aws_lb_listener_rule" "metrics_not_public" {
  count = local.lb_enabled ? 1 : 0

  listener_arn = aws_lb_listener.https[0].arn
  priority     = 1

  condition {
    path_pattern {
      values = ["/metrics", "/metrics/*"]
    }
  }

  action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      status_code  = "404"
      message_body = "Not Found"
    }
  }
}

resource "aws_lb_listener" "http" {
  count = local.lb_enabled ? 1 : 0

  load_balancer_arn = aws_lb.this[0].arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_lb_target_group_attachment" "single" {
  count = local.lb_enabled && !var.load_balanced ? 1 : 0

  target_group_arn = aws_lb_target_group.this[0].arn
  target_id        = aws_instance.this[0].id
  port             = var.app_port
}
