"""Listing cursors: opaque, URL-safe, and refused unless this service issued them."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from backend.domain import cursor
from backend.errors import InvalidInput

SOME_ID = uuid.UUID("3f2b8c4e-9a1d-4e6f-8b7a-0c5d2e1f4a93")
SOME_TIME = datetime(2024, 5, 17, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    "created_at",
    [
        SOME_TIME,
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2024, 3, 10, 2, 30, 0, 500000, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(1999, 7, 4, 12, 0, 0, 42, tzinfo=timezone(timedelta(hours=-8))),
    ],
)
@pytest.mark.parametrize(
    "file_id", [SOME_ID, uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)], ids=["v4", "nil", "max"]
)
def test_cursor_round_trips_its_position(created_at: datetime, file_id: uuid.UUID) -> None:
    decoded_at, decoded_id = cursor.decode(cursor.encode(created_at, file_id))

    assert decoded_at == created_at
    assert decoded_at.tzinfo is not None
    assert decoded_id == file_id


def test_cursor_needs_no_escaping_in_a_url() -> None:
    token = cursor.encode(SOME_TIME, SOME_ID)

    assert quote(token, safe="") == token
    assert "=" not in token


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


VALID = cursor.encode(SOME_TIME, SOME_ID)

NOT_CURSORS = {
    "empty": "",
    "garbage": "garbage",
    "punctuation": "!!!!",
    "non-ascii": "curs\u00f6r",
    "nul": "\x00",
    "standard-alphabet-noise": "+/+/+/+/",
    "truncated-by-one": VALID[:-1],
    "truncated-by-five": VALID[:-5],
    "truncated-to-half": VALID[: len(VALID) // 2],
    "doubled": VALID + VALID,
    "json-object": _b64(
        b'{"created_at": "2024-01-01T00:00:00Z", "id": "%s"}' % str(SOME_ID).encode()
    ),
    "json-empty-array": _b64(b"[]"),
    "json-missing-id": _b64(b'["2024-01-01T00:00:00Z"]'),
    "json-bad-date": _b64(b'["yesterday", "%s"]' % str(SOME_ID).encode()),
    "json-bad-uuid": _b64(b'["2024-01-01T00:00:00Z", "not-a-uuid"]'),
    "json-number": _b64(b"42"),
    "not-utf8": _b64(b"\xff\xfe\xfd"),
    "naive-datetime": _b64(b'["2024-01-01T00:00:00", "%s"]' % str(SOME_ID).encode()),
}


@pytest.mark.parametrize("token", list(NOT_CURSORS.values()), ids=list(NOT_CURSORS))
def test_token_this_service_did_not_issue_is_invalid_cursor(token: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        cursor.decode(token)
    assert caught.value.field == "cursor"
