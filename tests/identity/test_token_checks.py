"""Every check on an access token holds: one failing is enough to refuse it."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from backend.domain.tokens import TokenService, looks_like_jwt
from backend.errors import InvalidToken
from tests.identity_provider import IdentityProvider, forge, rsa_key

BadToken = Callable[[IdentityProvider], str]


def _claims(provider: IdentityProvider, **changes: object) -> dict[str, object]:
    now = int(time.time())
    claims = {"iss": provider.issuer, "aud": provider.audience, "sub": "alice", "exp": now + 300}
    return claims | changes


REFUSED: dict[str, BadToken] = {
    "wrong audience": lambda p: p.token(audience="another-api"),
    "wrong issuer": lambda p: p.token(issuer="https://evil.example.com"),
    "expired beyond the leeway": lambda p: p.token(expires_in=-120),
    "not yet valid beyond the leeway": lambda p: p.token(not_before=time.time() + 120),
    "without exp": lambda p: p.token(claims={"exp": None}),
    "without aud": lambda p: p.token(claims={"aud": None}),
    "alg none": lambda p: forge({"alg": "none", "kid": "rsa-1"}, _claims(p)),
    "HS256 signed with the public key": lambda p: forge(
        {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}, _claims(p), p.keys[0].public_pem()
    ),
    "signed by a key that is not the one its kid names": lambda p: p.token(
        key=rsa_key("stranger"), headers={"kid": "rsa-1"}
    ),
    "RS256 naming the EC key": lambda p: p.token(key=rsa_key("stranger"), headers={"kid": "ec-1"}),
    "an algorithm outside the allow-list": lambda p: p.token(key=_published_ps256(p)),
    "a tampered payload": lambda p: _tamper(p.token()),
    "garbage in three parts": lambda _p: "abc.def.ghi",
    "without the owner claim": lambda p: p.token(claims={"sub": None}),
    "an owner claim that is not text": lambda p: p.token(claims={"sub": {"id": 1}}),
}


def _published_ps256(provider: IdentityProvider) -> object:
    key = rsa_key("rsa-ps")
    ps = type(key)(key.kid, "PS256", key.private_key)
    provider.publish(ps)
    return ps


def _tamper(token: str) -> str:
    header, _payload, signature = token.split(".")
    other = forge({}, {"sub": "mallory"}).split(".")[1]
    return f"{header}.{other}.{signature}"


@pytest.mark.parametrize("make_token", REFUSED.values(), ids=REFUSED.keys())
def test_a_token_failing_any_check_is_refused_as_invalid(
    tokens: TokenService, identity_provider: IdentityProvider, make_token: BadToken
) -> None:
    token = make_token(identity_provider)
    with pytest.raises(InvalidToken):
        tokens.authenticate(token)


@pytest.mark.parametrize("key", ["rsa-1", "ec-1"])
def test_a_token_signed_with_a_published_key_names_its_owner(
    tokens: TokenService, identity_provider: IdentityProvider, key: str
) -> None:
    signing = next(k for k in identity_provider.keys if k.kid == key)
    owner = tokens.authenticate(identity_provider.token("alice", key=signing))
    assert tokens.authenticate(identity_provider.token("alice")) == owner


def test_clocks_may_disagree_by_a_few_seconds(
    tokens: TokenService, identity_provider: IdentityProvider
) -> None:
    tokens.authenticate(identity_provider.token(expires_in=-10))
    tokens.authenticate(identity_provider.token(not_before=time.time() + 10))


def test_an_audience_list_containing_the_api_is_accepted(
    tokens: TokenService, identity_provider: IdentityProvider
) -> None:
    tokens.authenticate(identity_provider.token(audience=["other", identity_provider.audience]))


def test_another_owner_claim_can_name_the_owner(
    make_tokens: Callable[..., TokenService], identity_provider: IdentityProvider
) -> None:
    tokens = make_tokens(identity_provider, oidc_owner_claim="email")
    by_email = tokens.authenticate(identity_provider.token("u1", claims={"email": "a@x.org"}))
    same = tokens.authenticate(identity_provider.token("u2", claims={"email": "a@x.org"}))
    assert by_email == same
    with pytest.raises(InvalidToken):
        tokens.authenticate(identity_provider.token("u3"))


def test_only_jwt_shaped_credentials_are_taken_for_tokens() -> None:
    assert looks_like_jwt("a.b.c")
    assert looks_like_jwt("a.b.")  # unsigned, and refused as such
    assert not looks_like_jwt("stw_abcdefghijklmnop_" + "x" * 43)
    assert not looks_like_jwt("stw_a.b.c")
    assert not looks_like_jwt("a.b")
    assert not looks_like_jwt("a..c")
    assert not looks_like_jwt(None)
