"""KEY_CACHE_SECONDS: keys answered from memory, and never past the bound or with a wrong secret."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from backend.domain.keys import KeyService
from backend.errors import NotAuthenticated
from backend.settings import Settings
from tests.configuration import replace_settings

BOUND = 5.0


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _wrong_secret(key: str) -> str:
    prefix, key_id, secret = key.split("_", 2)
    return f"{prefix}_{key_id}_{'B' if secret[0] == 'A' else 'A'}{secret[1:]}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cached(engine: sa.Engine, clock: Clock) -> KeyService:
    return KeyService(engine, cache_seconds=BOUND, clock=clock)


def test_a_revoked_key_stops_working_once_the_bound_has_passed(
    cached: KeyService, engine: sa.Engine, clock: Clock, make_key: Callable[[str], str]
) -> None:
    key = make_key("alice")
    owner_id = cached.authenticate(key)
    KeyService(engine).revoke(key)  # as `keys revoke` does, from another process

    clock.now += BOUND - 0.001  # within the bound the remembered answer may still stand
    assert cached.authenticate(key) == owner_id
    clock.now += 0.001
    with pytest.raises(NotAuthenticated):
        cached.authenticate(key)
    with pytest.raises(NotAuthenticated):
        cached.identify_from_memory(key)


def test_a_wrong_secret_for_a_remembered_key_id_is_refused(
    cached: KeyService, make_key: Callable[[str], str]
) -> None:
    key = make_key("alice")
    cached.authenticate(key)
    assert cached.identify_from_memory(key) is not None  # the key id is remembered

    with pytest.raises(NotAuthenticated):
        cached.identify_from_memory(_wrong_secret(key))
    with pytest.raises(NotAuthenticated):
        cached.authenticate(_wrong_secret(key))


def test_a_revoked_key_read_from_the_database_is_remembered_as_revoked(
    cached: KeyService, engine: sa.Engine, make_key: Callable[[str], str]
) -> None:
    key = make_key("alice")
    KeyService(engine).revoke(key)
    with pytest.raises(NotAuthenticated):
        cached.authenticate(key)
    with pytest.raises(NotAuthenticated):
        cached.identify_from_memory(key)


def test_unknown_keys_are_not_remembered_so_a_new_key_works_at_once(
    cached: KeyService, make_key: Callable[[str], str]
) -> None:
    key = make_key("alice")
    assert cached.identify_from_memory(key) is None  # not read yet: ask the database
    assert cached.authenticate(key)


def test_with_no_cache_revocation_takes_effect_at_once(
    engine: sa.Engine, clock: Clock, make_key: Callable[[str], str]
) -> None:
    keys = KeyService(engine, cache_seconds=0, clock=clock)
    key = make_key("alice")
    keys.authenticate(key)
    assert keys.identify_from_memory(key) is None
    KeyService(engine).revoke(key)
    with pytest.raises(NotAuthenticated):
        keys.authenticate(key)


def test_the_api_refuses_a_wrong_secret_for_a_key_it_remembers(
    make_app: Callable[..., Litestar], settings: Settings, make_key: Callable[[str], str]
) -> None:
    key = make_key("alice")
    with TestClient(make_app(replace_settings(settings, key_cache_seconds=BOUND))) as http:
        assert http.get("/files", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        forged = http.get("/files", headers={"Authorization": f"Bearer {_wrong_secret(key)}"})
        assert forged.status_code == 401
        assert http.get("/files", headers={"Authorization": f"Bearer {key}"}).status_code == 200
