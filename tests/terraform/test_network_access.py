"""The security group chain: world -> load balancer -> app -> database, and nothing else."""

from dataclasses import dataclass
from typing import Any

from terraform_config import Terraform, references

WORLD = {"0.0.0.0/0", "::/0"}


@dataclass(frozen=True)
class IngressRule:
    """One ingress rule, wherever it is declared."""

    address: str
    security_group: str
    from_port: Any
    to_port: Any
    sources: frozenset[str]  # CIDRs it can admit: literals and the defaults of variables it uses
    peer_groups: frozenset[str]  # security groups it admits


def possible_cidrs(terraform: Terraform, *expressions: Any) -> frozenset[str]:
    """CIDR literals in the expressions plus the defaults of the variables they refer to."""
    cidrs: set[str] = set()
    for expression in expressions:
        values = expression if isinstance(expression, list) else [expression]
        cidrs.update(v for v in values if isinstance(v, str) and "${" not in v and "/" in v)
        for reference in references(expression):
            if reference.startswith("var."):
                default = terraform.variable_default(reference.removeprefix("var."))
                cidrs.update(default if isinstance(default, list) else [default] if default else [])
    return frozenset(cidrs)


def group_of(expression: str) -> str:
    (group,) = {r for r in references(expression) if r.startswith("aws_security_group.")}
    return group


def ingress_rules(terraform: Terraform) -> list[IngressRule]:
    """Standalone rules, legacy aws_security_group_rule resources and inline ingress blocks."""
    rules = []
    for address, body in terraform.of_type("aws_vpc_security_group_ingress_rule").items():
        cidr_expressions = [body.get("cidr_ipv4"), body.get("cidr_ipv6")]
        # A rule made per element of for_each takes its CIDR from there.
        if any("each." in str(e) for e in cidr_expressions):
            cidr_expressions.append(body.get("for_each"))
        rules.append(
            IngressRule(
                address=address,
                security_group=group_of(body["security_group_id"]),
                from_port=body.get("from_port"),
                to_port=body.get("to_port"),
                sources=possible_cidrs(terraform, *cidr_expressions),
                peer_groups=frozenset(references(body.get("referenced_security_group_id", ""))),
            )
        )
    for address, body in terraform.of_type("aws_security_group_rule").items():
        if body.get("type") == "ingress":
            rules.append(
                IngressRule(
                    address=address,
                    security_group=group_of(body["security_group_id"]),
                    from_port=body.get("from_port"),
                    to_port=body.get("to_port"),
                    sources=possible_cidrs(
                        terraform, body.get("cidr_blocks"), body.get("ipv6_cidr_blocks")
                    ),
                    peer_groups=frozenset(references(body.get("source_security_group_id", ""))),
                )
            )
    for address, body in terraform.of_type("aws_security_group").items():
        for block in body.get("ingress", []):
            rules.append(
                IngressRule(
                    address=address,
                    security_group=address,
                    from_port=block.get("from_port"),
                    to_port=block.get("to_port"),
                    sources=possible_cidrs(
                        terraform, block.get("cidr_blocks"), block.get("ipv6_cidr_blocks")
                    ),
                    peer_groups=frozenset(references(block.get("security_groups", []))),
                )
            )
    return rules


def test_security_groups_declare_rules_only_as_separate_resources(terraform: Terraform) -> None:
    # Inline rules and rule resources on the same group fight each other on every apply.
    for address, body in terraform.of_type("aws_security_group").items():
        assert "ingress" not in body, address
        assert "egress" not in body, address


def test_only_the_load_balancer_web_ports_accept_the_whole_internet(terraform: Terraform) -> None:
    rules = ingress_rules(terraform)
    open_rules = [rule for rule in rules if rule.sources & WORLD]
    assert open_rules, "the load balancer should be reachable from the internet by default"
    for rule in open_rules:
        assert rule.security_group == "aws_security_group.lb", rule.address
        assert rule.from_port == rule.to_port, rule.address
        assert rule.from_port in (80, 443), rule.address


def test_load_balancer_port_80_only_redirects_to_https(terraform: Terraform) -> None:
    listeners = terraform.of_type("aws_lb_listener")
    by_port = {body["port"]: body for body in listeners.values()}
    assert set(by_port) == {80, 443}
    (action,) = by_port[80]["default_action"]
    assert action["type"] == "redirect"
    (redirect,) = action["redirect"]
    assert redirect["protocol"] == "HTTPS"
    assert by_port[443]["protocol"] == "HTTPS"


def test_database_accepts_postgres_only_from_the_app_security_group(terraform: Terraform) -> None:
    database = terraform.resources["aws_db_instance.this"]
    assert database["vpc_security_group_ids"] == ["${aws_security_group.db.id}"]
    assert database["publicly_accessible"] is False

    db_rules = [r for r in ingress_rules(terraform) if r.security_group == "aws_security_group.db"]
    assert len(db_rules) == 1
    (rule,) = db_rules
    assert (rule.from_port, rule.to_port) == (5432, 5432)
    assert rule.sources == frozenset()
    assert rule.peer_groups == {"aws_security_group.app"}


def test_database_lives_in_the_private_subnets(terraform: Terraform) -> None:
    database = terraform.resources["aws_db_instance.this"]
    assert database["db_subnet_group_name"] == "${aws_db_subnet_group.this.name}"
    assert (
        terraform.resources["aws_db_subnet_group.this"]["subnet_ids"]
        == "${aws_subnet.private[*].id}"
    )


def test_app_accepts_traffic_only_on_its_port_or_opt_in_ssh(terraform: Terraform) -> None:
    app_rules = [
        r for r in ingress_rules(terraform) if r.security_group == "aws_security_group.app"
    ]
    assert app_rules
    for rule in app_rules:
        if rule.from_port == 22:
            assert references(terraform.resources[rule.address]["cidr_ipv4"]) == {
                "var.ssh_ingress_cidr"
            }
        else:
            assert rule.from_port == rule.to_port == "${var.app_port}", rule.address
            assert rule.peer_groups <= {"aws_security_group.lb"}, rule.address


def test_ssh_is_closed_unless_an_operator_opts_in(terraform: Terraform) -> None:
    assert terraform.variable_default("ssh_ingress_cidr") is None
    ssh_rules = [r for r in ingress_rules(terraform) if r.from_port == 22 or r.to_port == 22]
    for rule in ssh_rules:
        assert (
            terraform.resources[rule.address]["count"] == "${var.ssh_ingress_cidr != null ? 1 : 0}"
        )


def test_every_security_group_rule_has_a_description(terraform: Terraform) -> None:
    rule_types = ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule")
    for rule_type in rule_types:
        for address, body in terraform.of_type(rule_type).items():
            assert body.get("description"), address


def test_app_egress_is_limited_to_https_and_postgres(terraform: Terraform) -> None:
    egress = {
        address: body
        for address, body in terraform.of_type("aws_vpc_security_group_egress_rule").items()
        if group_of(body["security_group_id"]) == "aws_security_group.app"
    }
    assert egress
    for address, body in egress.items():
        assert body["ip_protocol"] == "tcp", address
        assert (body["from_port"], body["to_port"]) in {(443, 443), (5432, 5432)}, address
        if body["from_port"] == 5432:
            assert body["referenced_security_group_id"] == "${aws_security_group.db.id}"


def test_database_security_group_has_no_egress(terraform: Terraform) -> None:
    for address, body in terraform.of_type("aws_vpc_security_group_egress_rule").items():
        assert group_of(body["security_group_id"]) != "aws_security_group.db", address


def test_load_balancer_sends_traffic_only_to_the_app_port(terraform: Terraform) -> None:
    egress = [
        body
        for body in terraform.of_type("aws_vpc_security_group_egress_rule").values()
        if group_of(body["security_group_id"]) == "aws_security_group.lb"
    ]
    assert len(egress) == 1
    (rule,) = egress
    assert rule["referenced_security_group_id"] == "${aws_security_group.app.id}"
    assert rule["from_port"] == rule["to_port"] == "${var.app_port}"
    assert "cidr_ipv4" not in rule


def test_interface_endpoints_accept_https_from_the_app_only(terraform: Terraform) -> None:
    rules = [
        r for r in ingress_rules(terraform) if r.security_group == "aws_security_group.endpoints"
    ]
    (rule,) = rules
    assert (rule.from_port, rule.to_port) == (443, 443)
    assert rule.sources == frozenset()
    assert rule.peer_groups == {"aws_security_group.app"}
    endpoints = terraform.resources["aws_vpc_endpoint.interface"]
    assert endpoints["security_group_ids"] == ["${aws_security_group.endpoints[0].id}"]
    assert endpoints["private_dns_enabled"] is True
