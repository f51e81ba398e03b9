"""A token's owner is (issuer, claim): created once, never shared across issuers or with keys."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from sqlmodel import Session, select

from backend.db.tables import Owner
from backend.domain.keys import KeyService
from backend.domain.tokens import TokenService
from tests.identity_provider import IdentityProvider, running_identity_provider


def _owners(engine: sa.Engine) -> list[Owner]:
    with Session(engine) as session:
        return list(session.exec(select(Owner)).all())


def test_a_users_owner_is_created_on_first_use_and_found_after(
    tokens: TokenService, identity_provider: IdentityProvider, engine: sa.Engine
) -> None:
    first = tokens.authenticate(identity_provider.token("alice"))
    again = tokens.authenticate(identity_provider.token("alice"))
    other = tokens.authenticate(identity_provider.token("bob"))

    assert first == again != other
    alice = next(owner for owner in _owners(engine) if owner.id == first)
    assert (alice.name, alice.issuer, alice.subject) == (None, identity_provider.issuer, "alice")


def test_the_same_subject_at_two_issuers_is_two_owners(
    make_tokens: Callable[..., TokenService], identity_provider: IdentityProvider
) -> None:
    with running_identity_provider() as other_provider:
        here = make_tokens(identity_provider).authenticate(identity_provider.token("alice"))
        there = make_tokens(other_provider).authenticate(other_provider.token("alice"))
    assert here != there


def test_a_users_owner_is_never_an_api_key_owner_of_the_same_name(
    tokens: TokenService, identity_provider: IdentityProvider, engine: sa.Engine
) -> None:
    keys = KeyService(engine)
    key_owner = keys.authenticate(keys.create("alice").key)
    issuer_named = keys.authenticate(keys.create(identity_provider.issuer).key)

    user = tokens.authenticate(identity_provider.token("alice"))

    assert user not in {key_owner, issuer_named}
    # And issuing a key for "alice" again still lands on the named owner, not the user.
    assert keys.authenticate(keys.create("alice").key) == key_owner


def test_concurrent_first_requests_create_one_owner(
    tokens: TokenService, identity_provider: IdentityProvider, engine: sa.Engine
) -> None:
    tokens.authenticate(identity_provider.token("warm-up"))  # keys fetched, pool filled
    subjects = [f"user-{n}" for n in range(10)]  # ten races: one alone is often won cleanly

    def first_requests(token: str, start: threading.Barrier) -> set[object]:
        def one() -> object:
            start.wait()
            return tokens.authenticate(token)

        with ThreadPoolExecutor(6) as pool:
            return set(pool.map(lambda _: one(), range(6)))

    for subject in subjects:
        owners = first_requests(identity_provider.token(subject), threading.Barrier(6))
        assert len(owners) == 1, subject

    stored = [owner.subject for owner in _owners(engine) if owner.subject in subjects]
    assert sorted(stored) == subjects
