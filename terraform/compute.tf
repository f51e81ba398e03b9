# The API runs on Amazon Linux 2023: one instance in a public subnet (load_balanced = false), or an Auto Scaling Group
# in the private subnets (load_balanced = true); either behind the load balancer. Both boot the same user data.

data "aws_ami" "al2023" {
  most_recent = true
  owners      = ["amazon"]

  filter {
    name   = "name"
    values = ["al2023-ami-2023.*-kernel-*-${var.instance_architecture}"]
  }

  filter {
    name   = "architecture"
    values = [var.instance_architecture]
  }

  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

resource "aws_instance" "this" {
  #checkov:skip=CKV_AWS_88:The single instance sits in a public subnet so that it needs no NAT gateway for its outbound traffic; its security group admits only the load balancer (or, with allow_plain_http, instance_ingress_cidrs). The load-balanced shape has no public IPs.
  count = var.load_balanced ? 0 : 1

  ami                         = data.aws_ami.al2023.id
  instance_type               = var.instance_type
  subnet_id                   = aws_subnet.public[0].id
  associate_public_ip_address = true
  vpc_security_group_ids      = [aws_security_group.app.id]
  iam_instance_profile        = aws_iam_instance_profile.app.name
  key_name                    = var.ssh_key_name
  monitoring                  = true
  ebs_optimized               = true

  user_data_base64            = base64gzip(local.user_data)
  user_data_replace_on_change = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size_gb
    encrypted             = true
    delete_on_termination = true
  }

  tags = { Name = "${var.name}-api" }

  lifecycle {
    # A newer AMI should not silently replace the running instance; roll it with `terraform apply -replace`.
    ignore_changes = [ami]
  }
}

resource "aws_launch_template" "this" {
  count = var.load_balanced ? 1 : 0

  name_prefix            = "${var.name}-api-"
  image_id               = data.aws_ami.al2023.id
  instance_type          = var.instance_type
  key_name               = var.ssh_key_name
  vpc_security_group_ids = [aws_security_group.app.id]
  ebs_optimized          = true
  user_data              = base64gzip(local.user_data)
  update_default_version = true

  iam_instance_profile {
    arn = aws_iam_instance_profile.app.arn
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = data.aws_ami.al2023.root_device_name

    ebs {
      volume_type           = "gp3"
      volume_size           = var.root_volume_size_gb
      encrypted             = true
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = { Name = "${var.name}-api" }
  }

  tag_specifications {
    resource_type = "volume"
    tags          = { Name = "${var.name}-api" }
  }
}

resource "aws_autoscaling_group" "this" {
  count = var.load_balanced ? 1 : 0

  name_prefix         = "${var.name}-api-"
  min_size            = var.asg_min_size
  max_size            = var.asg_max_size
  vpc_zone_identifier = aws_subnet.private[*].id
  target_group_arns   = [aws_lb_target_group.this[0].arn]

  # Replaced only when EC2 says the instance is broken. The load balancer routes on /health/ready, but a database
  # failover fails that check on every instance at once, and replacing them all would turn a 1-2 minute failover into
  # an outage of several first boots. A process that stops answering /health/live is restarted on the instance
  # (stowage-liveness.timer); instances that stay unready raise the readiness alarm (monitoring.tf).
  health_check_type         = "EC2"
  health_check_grace_period = 600

  launch_template {
    id      = aws_launch_template.this[0].id
    version = aws_launch_template.this[0].latest_version
  }

  # The API is stateless: a new launch template version (new app release) just rolls the instances.
  instance_refresh {
    strategy = "Rolling"

    preferences {
      min_healthy_percentage = 50
    }
  }

  tag {
    key                 = "Name"
    value               = "${var.name}-api"
    propagate_at_launch = true
  }

  lifecycle {
    ignore_changes = [desired_capacity]
  }
}

resource "aws_autoscaling_policy" "cpu" {
  count = var.load_balanced ? 1 : 0

  name                   = "${var.name}-cpu-target"
  autoscaling_group_name = aws_autoscaling_group.this[0].name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    target_value = var.asg_cpu_target_percent

    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
  }
}
