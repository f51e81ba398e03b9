"""scripts/upload.py's pure parts, imported from beside it: S3 errors, content types."""

from __future__ import annotations

from pathlib import Path

import pytest

from uploader.transfers import guess_content_type
from uploader.transport import parse_s3_error


def test_s3_error_documents_parse_to_code_and_message() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>EntityTooLarge</Code>'
        "<Message>Your proposed upload exceeds the maximum allowed size</Message>"
        "<RequestId>4442587FB7D0A2F9</RequestId></Error>"
    )
    assert parse_s3_error(body) == (
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
    )


def test_namespaced_s3_errors_parse_too() -> None:
    body = (
        '<Error xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    )
    assert parse_s3_error(body) == ("SlowDown", "Please reduce your request rate.")


@pytest.mark.parametrize(
    "body",
    ["", "Bad Gateway", "<html><body>502</body></html>", '{"code": "x"}', "<Error>"],
)
def test_bodies_that_are_not_s3_errors_parse_to_none(body: str) -> None:
    assert parse_s3_error(body) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "application/pdf"),
        ("photo.JPG", "image/jpeg"),
        ("backup.tar.gz", "application/gzip"),  # the bytes are gzip, whatever is inside
        ("notes", "application/octet-stream"),
        ("Grüße.txt", "text/plain"),
    ],
)
def test_content_type_is_guessed_from_the_name(name: str, expected: str) -> None:
    assert guess_content_type(Path(name)) == expected
