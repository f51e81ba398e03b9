"""The script's pure parts, imported from the file users run: S3 errors, content types."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "upload.py"


@pytest.fixture(scope="module")
def upload() -> ModuleType:
    """scripts/upload.py as a module (it is a script, not part of a package)."""
    spec = importlib.util.spec_from_file_location("upload_script", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_s3_error_documents_parse_to_code_and_message(upload: ModuleType) -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>EntityTooLarge</Code>'
        "<Message>Your proposed upload exceeds the maximum allowed size</Message>"
        "<RequestId>4442587FB7D0A2F9</RequestId></Error>"
    )
    assert upload.parse_s3_error(body) == (
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
    )


def test_namespaced_s3_errors_parse_too(upload: ModuleType) -> None:
    body = (
        '<Error xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    )
    assert upload.parse_s3_error(body) == ("SlowDown", "Please reduce your request rate.")


@pytest.mark.parametrize(
    "body",
    ["", "Bad Gateway", "<html><body>502</body></html>", '{"code": "x"}', "<Error>"],
)
def test_bodies_that_are_not_s3_errors_parse_to_none(upload: ModuleType, body: str) -> None:
    assert upload.parse_s3_error(body) is None


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
def test_content_type_is_guessed_from_the_name(
    upload: ModuleType, name: str, expected: str
) -> None:
    assert upload.guess_content_type(Path(name)) == expected
