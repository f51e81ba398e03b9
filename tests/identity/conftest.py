"""Identity fixtures: the token service on this test's database and a provider on loopback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from backend.domain.tokens import TokenService
from backend.jwks import Jwks
from tests.configuration import settings_from
from tests.identity_provider import IdentityProvider


@dataclass
class Clock:
    """A monotonic clock the test moves by hand."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    """The clock the token service's key cache runs on."""
    return Clock()


@pytest.fixture
def make_tokens(engine: sa.Engine, database_url: str, clock: Clock) -> Callable[..., TokenService]:
    """A token service trusting `provider`; keyword arguments are OIDC_* settings (lower case)."""

    def make(provider: IdentityProvider, **overrides: Any) -> TokenService:
        oidc = settings_from(
            database_url=database_url, s3_bucket="b", **provider.settings(**overrides)
        ).oidc
        assert oidc.issuer is not None
        return TokenService(engine, oidc, Jwks(oidc.issuer, oidc.jwks_url, clock=clock))

    return make


@pytest.fixture
def tokens(
    make_tokens: Callable[..., TokenService], identity_provider: IdentityProvider
) -> TokenService:
    """The token service trusting the test's identity provider."""
    return make_tokens(identity_provider)
