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
_JOINERS = frozenset("\u200c\u200d")  # ZWNJ and ZWJ: part of many scripts and emoji
# RFC 5987 attr-char: everything else is percent-encoded.
_ATTR_CHARS = "!#$&+-.^_`|~"


def require_printable(field: str, text: str) -> None:
    """InvalidInput unless `text` is free of control, format and direction characters.

    Format characters (soft hyphens, direction marks, byte-order marks) are invisible and can
    make one name look like another; the zero-width joiners that emoji need are allowed.
    """
    for char in text:
        if char in _BIDI_CONTROLS:
            raise InvalidInput(field, "must not contain bidirectional control characters")
        category = unicodedata.category(char)
        if category in {"Cc", "Cs", "Zl", "Zp"}:
            raise InvalidInput(field, "must not contain control characters")
        if category == "Cf" and char not in _JOINERS:
            raise InvalidInput(field, "must not contain invisible formatting characters")


def normalize_filename(raw: str) -> str:
    """The NFC form of a client's filename, or InvalidInput naming what is wrong with it."""
    name = unicodedata.normalize("NFC", raw)
    if not name.strip():
        raise InvalidInput("filename", "must not be empty")
    require_printable("filename", name)
    if len(name.encode("utf-8")) > MAX_FILENAME_BYTES:
        raise InvalidInput("filename", f"must be at most {MAX_FILENAME_BYTES} bytes in UTF-8")
    if "/" in name or "\\" in name:
        raise InvalidInput("filename", "must not contain / or \\")
    if name in {".", ".."}:
        raise InvalidInput("filename", "must not be . or ..")
    return name


def ascii_fallback(name: str) -> str:
    """A plain-ASCII stand-in for old clients: accents dropped, quotes and backslashes replaced.

    `%` is replaced too, since some clients percent-decode this parameter (RFC 6266 app. D),
    and a name left with no stem (e.g. all CJK) becomes download.ext rather than a dotfile.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_only = "".join(c for c in decomposed if c.isascii() and c.isprintable())
    cleaned = ascii_only.translate(str.maketrans('"\\%', "___")).strip()
    stem, dot, extension = cleaned.rpartition(".")
    if not cleaned.strip(" ."):
        return "download"
    if dot and not stem.strip(" ."):
        return f"download.{extension}"
    return cleaned


def content_disposition(name: str, disposition: Literal["attachment", "inline"]) -> str:
    """An RFC 6266 header: ASCII `filename` plus RFC 5987 `filename*` in UTF-8.

    Stored names never hold control characters, and both parameters are quoted or
    percent-encoded here, so no name can end the header or add another.
    """
    encoded = quote(name, safe=_ATTR_CHARS)
    return f"{disposition}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"
