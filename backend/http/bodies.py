"""Strict JSON request bodies: exact types, no unknown fields, errors that name the field.

Litestar's own body parsing coerces ("3" becomes 3) and ignores unknown fields; an upload's
declaration must mean exactly what it says, so bodies are decoded here with msgspec directly.
"""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from backend.errors import InvalidInput, MalformedBody

T = TypeVar("T")

# The largest body the app reads (Litestar answers 413 past it): bodies are small JSON
# documents, and file bytes never come here.
REQUEST_BODY_LIMIT = 64 * 1024

_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_NAMED_FIELD = re.compile(r"field `([^`]+)`")


def decode(body: bytes, kind: type[T]) -> T:
    """The body as `kind`, or MalformedBody (not JSON) / InvalidInput (wrong shape)."""
    if not body.strip():
        raise InvalidInput("body", "a JSON object is required")
    # Well-formedness first, so broken JSON is always a 400 whatever its first fields say.
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise MalformedBody("The request body is not valid JSON.") from None
    except RecursionError:  # nested deeper than any real request: refuse, do not crash
        raise MalformedBody("The request body is nested too deeply.") from None
    try:
        return msgspec.convert(document, kind)
    except msgspec.ValidationError as exc:
        field, message = _locate(str(exc))
        raise InvalidInput(field, message) from None


def _locate(message: str) -> tuple[str, str]:
    """("size", "Expected `int`, got `str`") from msgspec's "... - at `$.size`"."""
    match = _AT_PATH.search(message)
    path = match.group(1) if match else ""
    text = message[: match.start()] if match else message
    if not path and (named := _NAMED_FIELD.search(text)):
        path = named.group(1)  # missing or unknown field, reported at the object itself
    return (path.split("[")[0].split(".")[0] or "body"), text
