"""The provider's keys: fetched once, follow rotations, survive outages, never hammered."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from backend.domain.tokens import TokenService
from backend.errors import IdentityProviderUnavailable, InvalidToken
from tests.identity.conftest import Clock
from tests.identity_provider import IdentityProvider, rsa_key


def test_keys_are_discovered_from_the_issuer_and_fetched_once(
    tokens: TokenService, identity_provider: IdentityProvider
) -> None:
    for _ in range(5):
        tokens.authenticate(identity_provider.token())
    assert (identity_provider.discovery_requests, identity_provider.jwks_requests) == (1, 1)


def test_a_configured_jwks_url_needs_no_discovery(
    make_tokens: Callable[..., TokenService], identity_provider: IdentityProvider
) -> None:
    tokens = make_tokens(identity_provider, oidc_jwks_url=identity_provider.jwks_url)
    tokens.authenticate(identity_provider.token())
    assert (identity_provider.discovery_requests, identity_provider.jwks_requests) == (0, 1)


def test_a_rotated_in_key_is_accepted_once_the_keys_are_refreshed(
    tokens: TokenService, identity_provider: IdentityProvider, clock: Clock
) -> None:
    tokens.authenticate(identity_provider.token())
    new = rsa_key("rsa-2")
    token = identity_provider.token(key=new)
    clock.advance(31)
    with pytest.raises(InvalidToken):
        tokens.authenticate(token)  # not published yet: the refresh finds nothing

    identity_provider.publish(new)
    clock.advance(31)

    tokens.authenticate(token)
    assert identity_provider.jwks_requests == 3


def test_unknown_key_ids_refresh_the_keys_at_most_once_per_30_seconds(
    tokens: TokenService, identity_provider: IdentityProvider, clock: Clock
) -> None:
    tokens.authenticate(identity_provider.token())
    stranger = rsa_key("stranger")
    clock.advance(31)

    for _ in range(3):
        for _ in range(20):
            kid = uuid.uuid4().hex
            with pytest.raises(InvalidToken):
                tokens.authenticate(identity_provider.token(key=stranger, headers={"kid": kid}))
            clock.advance(0.4)  # 20 tokens in 8 seconds
        clock.advance(23)  # the next round starts 31 seconds after this one

    assert identity_provider.jwks_requests == 1 + 3


def test_cached_keys_keep_working_while_the_provider_is_down(
    tokens: TokenService, identity_provider: IdentityProvider, clock: Clock
) -> None:
    owner = tokens.authenticate(identity_provider.token())
    identity_provider.down = True

    clock.advance(3600)  # the cache is stale: a refresh is tried, fails, and is not fatal
    for _ in range(10):
        assert tokens.authenticate(identity_provider.token()) == owner
        clock.advance(1)


def test_without_cached_keys_a_provider_outage_makes_tokens_unavailable_not_invalid(
    tokens: TokenService, identity_provider: IdentityProvider, clock: Clock
) -> None:
    identity_provider.down = True
    with pytest.raises(IdentityProviderUnavailable):
        tokens.authenticate(identity_provider.token())
    clock.advance(1)  # within the floor: still unavailable, without asking again
    with pytest.raises(IdentityProviderUnavailable):
        tokens.authenticate(identity_provider.token())

    identity_provider.down = False
    clock.advance(30)
    tokens.authenticate(identity_provider.token())


def test_a_new_key_during_an_outage_is_unavailable_rather_than_refused(
    tokens: TokenService, identity_provider: IdentityProvider, clock: Clock
) -> None:
    tokens.authenticate(identity_provider.token())
    identity_provider.down = True
    clock.advance(31)
    with pytest.raises(IdentityProviderUnavailable):
        tokens.authenticate(identity_provider.token(key=rsa_key("rsa-next")))


def test_a_withdrawn_key_stops_working_once_the_keys_are_refreshed(
    tokens: TokenService, identity_provider: IdentityProvider, clock: Clock
) -> None:
    token = identity_provider.token()
    tokens.authenticate(token)
    identity_provider.withdraw("rsa-1")
    clock.advance(601)
    with pytest.raises(InvalidToken):
        tokens.authenticate(token)


def test_a_token_without_kid_is_checked_only_when_the_provider_has_one_key(
    tokens: TokenService, identity_provider: IdentityProvider, clock: Clock
) -> None:
    unnamed = identity_provider.token(headers={"kid": None})
    with pytest.raises(InvalidToken):
        tokens.authenticate(unnamed)  # two keys published: which one is not for us to guess

    identity_provider.withdraw("ec-1")
    clock.advance(601)
    tokens.authenticate(unnamed)


def test_only_public_signing_keys_are_taken_from_the_key_set(
    tokens: TokenService, identity_provider: IdentityProvider
) -> None:
    encryption = rsa_key("rsa-enc").public_jwk() | {"use": "enc"}
    secret = {"kty": "oct", "kid": "hmac-1", "k": "c2VjcmV0", "alg": "HS256"}
    identity_provider.other_jwks = [encryption, secret]
    assert tokens.keys is not None

    assert tokens.keys.key("rsa-1") is not None
    assert tokens.keys.key("rsa-enc") is None
    assert tokens.keys.key("hmac-1") is None
