"""Filename rules and the Content-Disposition header that carries a name back safely."""

from __future__ import annotations

import unicodedata
from typing import Literal
from urllib.parse import quote

from backend.errors import InvalidInput

MAX_FILENAME_BYTES = 255

# Embeddings, overrides and isolates can make a name display in an order other than its
# real one, e.g. an executable posing as a PDF ("invoice<RLO>fdp.exe").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# RFC 5987 attr-char, minus nothing: everything else is percent-encoded.
_ATTR_CHARS = "!#$&+-.^_`|~"


def normalize_filename(raw: str) -> str:
    """The NFC form of a client's filename, or InvalidInput naming what is wrong with it."""
    name = unicodedata.normalize("NFC", raw)
    if not name.strip():
        raise InvalidInput("filename", "must not be empty")
    for char in name:
        if char in _BIDI_CONTROLS:
            raise InvalidInput("filename", "must not contain bidirectional control characters")
        if unicodedata.category(char) in {"Cc", "Cs"} or char in "\u2028\u2029":
            raise InvalidInput("filename", "must not contain control characters")
    if len(name.encode("utf-8")) > MAX_FILENAME_BYTES:
        raise InvalidInput("filename", f"must be at most {MAX_FILENAME_BYTES} bytes in UTF-8")
    if "/" in name or "\\" in name:
        raise InvalidInput("filename", "must not contain / or \\")
    if name in {".", ".."}:
        raise InvalidInput("filename", "must not be . or ..")
    return name


def ascii_fallback(name: str) -> str:
    """A plain-ASCII stand-in for old clients: accents dropped, quotes and backslashes replaced."""
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_only = "".join(c for c in decomposed if c.isascii() and c.isprintable())
    cleaned = ascii_only.replace('"', "_").replace("\\", "_").strip()
    return cleaned if cleaned.strip(" .") else "download"


def content_disposition(name: str, disposition: Literal["attachment", "inline"]) -> str:
    """An RFC 6266 header: ASCII `filename` plus RFC 5987 `filename*` in UTF-8.

    Stored names never hold control characters, and both parameters are quoted or
    percent-encoded here, so no name can end the header or add another.
    """
    encoded = quote(name, safe=_ATTR_CHARS)
    return f"{disposition}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"
