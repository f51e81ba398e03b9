"""Content types: parsing, the operator's allow-list, and what may be shown inline."""

from __future__ import annotations

from email.message import Message

import pytest

from backend.domain.content_types import inline_safe, normalize_content_type, require_allowed
from backend.errors import InvalidInput, UnsupportedContentType
from backend.settings import DEFAULT_CONTENT_TYPES

OFFICE_PREFIX = "application/vnd.openxmlformats-officedocument.*"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# --- normalize_content_type --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("image/png", "image/png"),
        ("IMAGE/PNG", "image/png"),
        ("Text/Plain", "text/plain"),
        ("  image/png  ", "image/png"),
        ("text/plain;charset=UTF-8", "text/plain; charset=UTF-8"),
        ("TEXT/PLAIN ; Charset=UTF-8", "text/plain; charset=UTF-8"),
        ("text/csv; charset=utf-8; header=present", "text/csv; charset=utf-8; header=present"),
        ("Application/VND.MS-Excel", "application/vnd.ms-excel"),
        ("image/svg+xml", "image/svg+xml"),
    ],
)
def test_type_and_parameter_names_are_lowered_and_values_kept(raw: str, expected: str) -> None:
    assert normalize_content_type(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["IMAGE/PNG", "Text/Plain ; Charset=UTF-8", "text/csv;a=B;c=D", "application/JSON"],
)
def test_normalized_content_type_parses_to_the_same_type_and_params(raw: str) -> None:
    original, normalized = Message(), Message()
    original["Content-Type"] = raw
    normalized["Content-Type"] = normalize_content_type(raw)

    assert normalized.get_content_type() == original.get_content_type()
    assert normalized.get_params() == [
        (name.lower(), value) for name, value in original.get_params() or []
    ]
    assert normalize_content_type(normalize_content_type(raw)) == normalize_content_type(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "image",
        "image/",
        "/png",
        "image//png",
        "a b/c",
        "image/p ng",
        "text/plain; charset",
        "text/plain; charset=",
        "text/plain; =utf-8",
        "text/plain; charset=utf 8",
        "text/html\r\nX-Injected: yes",
        "text/html\nX-Injected: yes",
        "image/png\x00",
        "image/pngé",
        "image/" + "x" * 1000,
    ],
)
def test_malformed_content_type_is_rejected_as_invalid_content_type(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_content_type(raw)
    assert caught.value.field == "content_type"


# --- require_allowed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "allowed"),
    [
        ("image/png", ["image/png"]),
        ("image/png; charset=binary", ["image/png"]),
        ("image/png", ["text/plain", "image/png"]),
        ("audio/ogg", ["audio/*"]),
        ("audio/mpeg", ["audio/*"]),
        ("video/mp4", ["image/png", "video/*"]),
        (DOCX, [OFFICE_PREFIX]),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", [OFFICE_PREFIX]),
    ],
)
def test_type_matching_an_entry_is_allowed(content_type: str, allowed: list[str]) -> None:
    require_allowed(content_type, allowed)  # raises if refused


@pytest.mark.parametrize(
    ("content_type", "allowed"),
    [
        ("image/jpeg", ["image/png"]),
        ("image/png", []),
        ("image/pngx", ["image/png"]),
        ("video/mp4", ["audio/*"]),
        ("audiox/mpeg", ["audio/*"]),
        ("application/vnd.openxmlformats", [OFFICE_PREFIX]),
        ("application/vnd.openxmlformats-officedocumentx", [OFFICE_PREFIX]),
        ("application/vnd.ms-excel", [OFFICE_PREFIX]),
        ("text/html", [OFFICE_PREFIX, "audio/*", "image/png"]),
    ],
)
def test_type_matching_no_entry_is_refused(content_type: str, allowed: list[str]) -> None:
    with pytest.raises(UnsupportedContentType):
        require_allowed(content_type, allowed)


ACTIVE_CONTENT = [
    "text/html",
    "text/html; charset=utf-8",
    "TEXT/HTML",
    "image/svg+xml",
    "application/xhtml+xml",
    "application/javascript",
    "text/javascript",
]


@pytest.mark.parametrize("content_type", ACTIVE_CONTENT)
def test_default_allow_list_refuses_active_content(content_type: str) -> None:
    with pytest.raises(UnsupportedContentType):
        require_allowed(content_type, DEFAULT_CONTENT_TYPES)


@pytest.mark.parametrize(
    "content_type",
    [
        "image/png",
        "image/jpeg",
        "application/pdf",
        "text/plain; charset=utf-8",
        "application/zip",
        DOCX,
        "application/vnd.oasis.opendocument.text",
        "audio/mpeg",
        "video/mp4",
    ],
)
def test_default_allow_list_accepts_common_documents_and_media(content_type: str) -> None:
    require_allowed(content_type, DEFAULT_CONTENT_TYPES)  # raises if refused


# --- inline_safe -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "image/png",
        "IMAGE/PNG",
        "image/jpeg",
        "application/pdf",
        "text/plain",
        "text/plain; charset=utf-8",
        "audio/mpeg",
        "video/mp4",
    ],
)
def test_passive_types_may_be_shown_inline(content_type: str) -> None:
    assert inline_safe(content_type) is True


@pytest.mark.parametrize(
    "content_type",
    [
        "image/svg+xml",
        "IMAGE/SVG+XML",
        "image/svg+xml; charset=utf-8",
        "text/html",
        "application/xhtml+xml",
        "text/javascript",
        "application/zip",
        "application/octet-stream",
        "text/csv",
    ],
)
def test_active_or_opaque_types_are_never_shown_inline(content_type: str) -> None:
    assert inline_safe(content_type) is False
