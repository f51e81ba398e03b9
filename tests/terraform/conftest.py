"""Fixtures for the Terraform checks: the root module is parsed once per session."""

import pytest
from terraform_config import Terraform, load


@pytest.fixture(scope="session")
def terraform() -> Terraform:
    """The parsed root module."""
    return load()
