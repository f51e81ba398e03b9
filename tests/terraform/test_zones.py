"""The two zones are standard availability zones, chosen the same way whatever their state."""

from terraform_config import Terraform


def test_zones_exclude_local_and_wavelength_zones(terraform: Terraform) -> None:
    zones = terraform.data["data.aws_availability_zones.available"]
    filters = {f["name"]: f["values"] for f in zones["filter"]}
    assert filters == {
        "zone-type": ["availability-zone"],
        "opt-in-status": ["opt-in-not-required"],
    }


def test_a_briefly_impaired_zone_does_not_shift_the_choice(terraform: Terraform) -> None:
    zones = terraform.data["data.aws_availability_zones.available"]
    assert "state" not in zones
    assert "sort(data.aws_availability_zones.available[0].names)" in terraform.locals["azs"]
