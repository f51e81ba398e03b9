"""Content types: parsing, the operator's allow-list, and which types may be shown inline."""

from __future__ import annotations

import re
from collections.abc import Iterable

from backend.errors import InvalidInput, UnsupportedContentType

# RFC 9110 token characters, for type, subtype and parameter names and values.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # noqa: S105 (a pattern, not a password)
_MEDIA_TYPE = re.compile(rf"^({_TOKEN})/({_TOKEN})((?:\s*;\s*{_TOKEN}={_TOKEN})*)\s*$")
_LOWER_NO_STAR = r"[!#$%&'+.^_`|~0-9a-z-]+"
_ALLOW_LIST_ENTRY = re.compile(rf"{_LOWER_NO_STAR}/(\*|{_LOWER_NO_STAR}(\.\*)?)")
_PARAMETER = re.compile(rf"\s*;\s*({_TOKEN})=({_TOKEN})")
_INLINE_EXACT = frozenset({"application/pdf", "text/plain"})
_INLINE_FAMILIES = frozenset({"image", "audio", "video"})
_NEVER_INLINE = frozenset({"image/svg+xml"})


def normalize_content_type(raw: str) -> str:
    """`type/subtype[; name=value...]` lowercased where case does not matter, spaced one way."""
    match = _MEDIA_TYPE.match(raw.strip())
    if match is None or len(raw) > 255:
        raise InvalidInput("content_type", "must be a media type such as image/png")
    essence = f"{match.group(1)}/{match.group(2)}".lower()
    if "*" in essence:
        raise InvalidInput("content_type", "must be a concrete media type, not a wildcard")
    params = "".join(
        f"; {name.lower()}={value}" for name, value in _PARAMETER.findall(match.group(3))
    )
    return essence + params


def essence(content_type: str) -> str:
    """The `type/subtype` part, without parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def is_allow_list_entry(entry: str) -> bool:
    """True for the forms `require_allowed` understands: type/subtype, type/* and type/prefix.*."""
    return _ALLOW_LIST_ENTRY.fullmatch(entry) is not None


def require_allowed(content_type: str, allowed: Iterable[str]) -> None:
    """Raise UnsupportedContentType unless the type matches an entry (`type/*` covers a family)."""
    kind = essence(content_type)
    family = kind.split("/", 1)[0]
    for pattern in allowed:
        if pattern in {kind, f"{family}/*"}:
            return
        if pattern.endswith(".*") and kind.startswith(pattern[:-1]):
            return
    raise UnsupportedContentType(f"Content type {kind} is not accepted by this service.")


def inline_safe(content_type: str) -> bool:
    """True for types browsers show without running code: images but SVG, PDF, text, media."""
    kind = essence(content_type)
    if kind in _NEVER_INLINE:
        return False
    return kind in _INLINE_EXACT or kind.split("/", 1)[0] in _INLINE_FAMILIES
