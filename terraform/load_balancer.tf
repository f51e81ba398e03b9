# HTTPS Application Load Balancer in front of the Auto Scaling Group (load_balanced = true). TLS ends here; port 80
# only redirects.

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91:Access logs need a log bucket with an ELB delivery policy; add one per account if required.
  #checkov:skip=CKV2_AWS_28:WAF is a priced add-on; every API request is already authenticated by an API key.
  count = var.load_balanced ? 1 : 0

  name_prefix                = "stwg-"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = aws_subnet.public[*].id
  security_groups            = [aws_security_group.lb[0].id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.db_deletion_protection

  tags = { Name = var.name }
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; the hop to the app is inside the VPC's private subnets.
  count = var.load_balanced ? 1 : 0

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
  count = var.load_balanced ? 1 : 0

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

resource "aws_lb_listener" "http" {
  count = var.load_balanced ? 1 : 0

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
