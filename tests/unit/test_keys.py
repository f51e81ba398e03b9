"""API keys: input that cannot be a key or an owner is refused before any query."""

from __future__ import annotations

from typing import Any

import pytest

from backend.domain.keys import KeyService
from backend.errors import InvalidInput, NotAuthenticated, NotFound

WELL_FORMED_SECRET = "A" * 43


class UntouchableEngine:
    """An engine that fails the test if any database work is attempted."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was used ({name})")


@pytest.fixture
def keys() -> KeyService:
    """Keys over a database that must not be touched."""
    return KeyService(UntouchableEngine())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "owner", ["", "   ", "x" * 201, "tab\tname", "new\nline", "nul\x00"],
    ids=["empty", "blank", "too-long", "tab", "newline", "nul"],
)  # fmt: skip
def test_owner_name_that_is_empty_long_or_unprintable_is_rejected(
    keys: KeyService, owner: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        keys.create(owner)
    assert caught.value.field == "owner"


@pytest.mark.parametrize(
    "presented",
    [
        None,
        "",
        "stw",
        "Bearer stw_abcdefghijklmnop_" + WELL_FORMED_SECRET,
        "xyz_abcdefghijklmnop_" + WELL_FORMED_SECRET,
        "stw_ABCDEFGHIJKLMNOP_" + WELL_FORMED_SECRET,  # key ids are lower-case base32
        "stw_abcdefghijklmno1_" + WELL_FORMED_SECRET,  # 1 is not base32
        "stw_abcdefghijklmno_" + WELL_FORMED_SECRET,  # 15-character key id
        "stw_abcdefghijklmnop_" + WELL_FORMED_SECRET[:-1],
        "stw_abcdefghijklmnop_" + WELL_FORMED_SECRET + "A",
        "stw_abcdefghijklmnop_" + "A" * 42 + "=",
    ],
)
def test_string_that_is_not_key_shaped_is_not_authenticated(
    keys: KeyService, presented: str | None
) -> None:
    with pytest.raises(NotAuthenticated):
        keys.authenticate(presented)


@pytest.mark.parametrize("text", ["", "nonsense", "stw_", "12345678-1234-1234-1234"])
def test_revoking_something_that_is_no_key_id_or_uuid_is_not_found(
    keys: KeyService, text: str
) -> None:
    with pytest.raises(NotFound):
        keys.revoke(text)
