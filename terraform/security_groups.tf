# A chain: internet -> load balancer (443/80) -> app (app_port) -> database (5432). Only with allow_plain_http does the
# single instance take app_port straight from instance_ingress_cidrs instead. Nothing opens SSH unless ssh_ingress_cidr
# is set.

resource "aws_security_group" "lb" {
  count = local.lb_enabled ? 1 : 0

  name_prefix = "${var.name}-lb-"
  description = "Stowage load balancer: HTTPS and the HTTP redirect in, the app port out"
  vpc_id      = aws_vpc.this.id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "lb_https" {
  for_each = local.lb_enabled ? toset(var.lb_ingress_cidrs) : toset([])

  security_group_id = aws_security_group.lb[0].id
  description       = "HTTPS to the API from an allowed network"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "lb_http" {
  #checkov:skip=CKV_AWS_260:The public load balancer's port 80 listener only redirects to HTTPS.
  for_each = local.lb_enabled ? toset(var.lb_ingress_cidrs) : toset([])

  security_group_id = aws_security_group.lb[0].id
  description       = "HTTP from an allowed network, answered with a redirect to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "lb_to_app" {
  count = local.lb_enabled ? 1 : 0

  security_group_id            = aws_security_group.lb[0].id
  description                  = "Forward requests and health checks to the app instances"
  ip_protocol                  = "tcp"
  from_port                    = var.app_port
  to_port                      = var.app_port
  referenced_security_group_id = aws_security_group.app.id
}

resource "aws_security_group" "app" {
  name_prefix = "${var.name}-app-"
  description = "Stowage API instances: the app port from the load balancer or allowed networks"
  vpc_id      = aws_vpc.this.id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "app_from_lb" {
  count = local.lb_enabled ? 1 : 0

  security_group_id            = aws_security_group.app.id
  description                  = "API traffic and health checks from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.app_port
  to_port                      = var.app_port
  referenced_security_group_id = aws_security_group.lb[0].id
}

resource "aws_vpc_security_group_ingress_rule" "app_direct" {
  for_each = var.allow_plain_http ? toset(var.instance_ingress_cidrs) : toset([])

  security_group_id = aws_security_group.app.id
  description       = "API traffic straight to the single instance from an allowed network"
  ip_protocol       = "tcp"
  from_port         = var.app_port
  to_port           = var.app_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "app_ssh" {
  count = var.ssh_ingress_cidr != null ? 1 : 0

  security_group_id = aws_security_group.app.id
  description       = "Opt-in SSH from the one operator network in ssh_ingress_cidr"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = var.ssh_ingress_cidr
}

resource "aws_vpc_security_group_egress_rule" "app_https" {
  for_each = toset(var.app_egress_cidrs)

  security_group_id = aws_security_group.app.id
  description       = "HTTPS out: package index, git host and RDS CA bundle at first boot; identity provider keys; AWS APIs without endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "app_s3" {
  security_group_id = aws_security_group.app.id
  description       = "HTTPS to S3 through the gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = aws_vpc_endpoint.s3.prefix_list_id
}

resource "aws_vpc_security_group_egress_rule" "app_to_endpoints" {
  count = var.vpc_interface_endpoints ? 1 : 0

  security_group_id            = aws_security_group.app.id
  description                  = "HTTPS to the VPC interface endpoints (SSM, Secrets Manager)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints[0].id
}

resource "aws_vpc_security_group_egress_rule" "app_to_db" {
  security_group_id            = aws_security_group.app.id
  description                  = "PostgreSQL to the database"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.db.id
}

resource "aws_security_group" "db" {
  name_prefix = "${var.name}-db-"
  description = "Stowage database: PostgreSQL from the app instances only"
  vpc_id      = aws_vpc.this.id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "db_from_app" {
  security_group_id            = aws_security_group.db.id
  description                  = "PostgreSQL from the app instances"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.app.id
}

resource "aws_security_group" "endpoints" {
  count = var.vpc_interface_endpoints ? 1 : 0

  name_prefix = "${var.name}-endpoints-"
  description = "Stowage VPC interface endpoints: HTTPS from the app instances only"
  vpc_id      = aws_vpc.this.id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_app" {
  count = var.vpc_interface_endpoints ? 1 : 0

  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from the app instances"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.app.id
}
