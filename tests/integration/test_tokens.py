"""Access tokens over HTTP: users upload as themselves, every refusal says `invalid_token`."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.identity_provider import IdentityProvider, forge
from tests.integration.api import Api

PROBLEM = "application/problem+json"


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
def test_a_user_with_a_token_uploads_and_lists_their_own_files(
    token_client: TestClient[Litestar], identity_provider: IdentityProvider, kid: str
) -> None:
    key = next(k for k in identity_provider.keys if k.kid == kid)
    alice = Api(token_client, identity_provider.token("alice", key=key))
    bob = Api(token_client, identity_provider.token("bob", key=key))

    file = alice.upload(b"alice's bytes")

    listed = alice.request("GET", "/files").json()["items"]
    assert [item["file_id"] for item in listed] == [file["file_id"]]
    assert bob.request("GET", "/files").json()["items"] == []
    assert bob.request("GET", f"/files/{file['file_id']}").status_code == 404


REFUSED: dict[str, Callable[[IdentityProvider], str]] = {
    "wrong audience": lambda p: p.token(audience="another-api"),
    "wrong issuer": lambda p: p.token(issuer="https://evil.example.com"),
    "expired": lambda p: p.token(expires_in=-120),
    "not yet valid": lambda p: p.token(not_before=time.time() + 120),
    "alg none": lambda p: forge(
        {"alg": "none"}, {"iss": p.issuer, "aud": p.audience, "sub": "a", "exp": 2**31}
    ),
    "HS256 signed with the public key": lambda p: forge(
        {"alg": "HS256", "kid": "rsa-1"},
        {"iss": p.issuer, "aud": p.audience, "sub": "a", "exp": 2**31},
        p.keys[0].public_pem(),
    ),
}


@pytest.mark.parametrize("make_token", REFUSED.values(), ids=REFUSED.keys())
def test_a_refused_token_gets_401_invalid_token_with_www_authenticate(
    token_client: TestClient[Litestar],
    identity_provider: IdentityProvider,
    make_token: Callable[[IdentityProvider], str],
) -> None:
    token = make_token(identity_provider)
    headers = {"Authorization": f"Bearer {token}"}
    response = token_client.get("/files", headers=headers)

    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "Traceback" not in response.text


def test_api_keys_keep_working_beside_tokens(
    token_client: TestClient[Litestar], make_key: Callable[[str], str]
) -> None:
    api = Api(token_client, make_key("alice"))
    assert api.request("GET", "/files").status_code == 200
    wrong = Api(token_client, "stw_" + "a" * 16 + "_" + "b" * 43)
    assert wrong.request("GET", "/files").json()["code"] == "not_authenticated"


def test_a_token_user_and_an_api_key_owner_of_the_same_name_are_isolated(
    token_client: TestClient[Litestar],
    identity_provider: IdentityProvider,
    make_key: Callable[[str], str],
) -> None:
    by_key = Api(token_client, make_key("alice"))
    by_token = Api(token_client, identity_provider.token("alice"))

    keys_file = by_key.upload(b"from the key")
    tokens_file = by_token.upload(b"from the token")

    for api, own, other in ((by_key, keys_file, tokens_file), (by_token, tokens_file, keys_file)):
        items = api.request("GET", "/files").json()["items"]
        assert [item["file_id"] for item in items] == [own["file_id"]]
        assert api.request("GET", f"/files/{other['file_id']}").status_code == 404


def test_without_an_identity_provider_a_token_is_refused_like_an_unknown_key(
    client: TestClient[Litestar], identity_provider: IdentityProvider
) -> None:
    same = {"X-Request-ID": "refusal-probe"}  # so that the whole answers can be compared
    token = client.get(
        "/files", headers={"Authorization": f"Bearer {identity_provider.token()}", **same}
    )
    bad_key = client.get("/files", headers={"Authorization": "Bearer stw_nonsense", **same})

    assert token.status_code == bad_key.status_code == 401
    # Every answer carries its own request id; apart from it, the two are the same.
    assert {**token.json(), "request_id": None} == {**bad_key.json(), "request_id": None}
    assert token.headers["www-authenticate"] == bad_key.headers["www-authenticate"]


def test_an_unreachable_provider_answers_503_with_retry_after(
    no_identity_provider: TestClient[Litestar], identity_provider: IdentityProvider
) -> None:
    headers = {"Authorization": f"Bearer {identity_provider.token()}"}
    response = no_identity_provider.get("/files", headers=headers)

    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "identity_provider_unavailable"
    assert int(response.headers["retry-after"]) > 0
