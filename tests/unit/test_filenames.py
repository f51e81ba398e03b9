"""Filenames: what the service accepts, and the Content-Disposition header that gives it back."""

from __future__ import annotations

import random
import re
import unicodedata
from email.message import Message
from email.utils import collapse_rfc2231_value
from urllib.parse import unquote

import pytest

from backend.domain.filenames import MAX_FILENAME_BYTES, content_disposition, normalize_filename
from backend.errors import InvalidInput

BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
CONTROL_CHARACTERS = ["\x00", "\x01", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x85", "\x9f"]
LINE_SEPARATORS = ["\u2028", "\u2029"]

# RFC 5987: ext-value = charset "'" [ language ] "'" value-chars,
# value-chars = *( pct-encoded / attr-char ).
RFC5987_VALUE = re.compile(r"(?:%[0-9A-F]{2}|[A-Za-z0-9!#$&+\-.^_`|~])*")


def _fill_to(byte_count: int, char: str, pad: str = "a") -> str:
    """`char` repeated, topped up with ASCII `pad`, to exactly `byte_count` UTF-8 bytes."""
    repeat = byte_count // len(char.encode("utf-8"))
    name = char * repeat
    name += pad * (byte_count - len(name.encode("utf-8")))
    assert len(name.encode("utf-8")) == byte_count
    return name


# --- normalize_filename: accepted names ---------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "report.pdf",
        "a",
        ".hidden",
        "...",
        "no extension",
        "résumé.pdf",
        "Ünïcödé Ärger.docx",
        "日本語のファイル.txt",
        "한국어.hwp",
        "العربية.pdf",
        "😀 party 🎉.png",
        "👍🏽 family 👨‍👩‍👧.jpg",
        'quoted "name".txt',
        "semi;colon, comma=equals.csv",
        "100% done.txt",
        "it's fine.txt",
    ],
)
def test_ordinary_and_unicode_names_are_accepted_unchanged(name: str) -> None:
    assert unicodedata.is_normalized("NFC", name)  # precondition: already the stored form
    assert normalize_filename(name) == name


@pytest.mark.parametrize(
    "decomposed",
    ["e\u0301te\u0301.txt", "A\u030angstro\u0308m.pdf", "\u1100\u1161\u11a8.txt", "n\u0303"],
    ids=["e-acute", "a-ring-o-umlaut", "hangul-jamo", "n-tilde"],
)
def test_decomposed_name_comes_back_composed(decomposed: str) -> None:
    result = normalize_filename(decomposed)

    assert result == unicodedata.normalize("NFC", decomposed)
    assert unicodedata.is_normalized("NFC", result)
    assert result != decomposed


def test_decomposed_e_acute_becomes_the_single_precomposed_character() -> None:
    assert normalize_filename("caf" + "e\u0301") == "caf\u00e9"


@pytest.mark.parametrize(
    "char", ["a", "\u00e9", "\u20ac", "\U0001f600"], ids=["1-byte", "2-byte", "3-byte", "4-byte"]
)
def test_name_of_exactly_the_byte_limit_is_accepted(char: str) -> None:
    name = _fill_to(MAX_FILENAME_BYTES, char)

    assert MAX_FILENAME_BYTES == 255
    assert normalize_filename(name) == name


@pytest.mark.parametrize(
    "char", ["a", "\u00e9", "\u20ac", "\U0001f600"], ids=["1-byte", "2-byte", "3-byte", "4-byte"]
)
def test_name_one_byte_over_the_limit_is_rejected(char: str) -> None:
    name = _fill_to(MAX_FILENAME_BYTES + 1, char)

    with pytest.raises(InvalidInput) as caught:
        normalize_filename(name)
    assert caught.value.field == "filename"


def test_byte_limit_applies_to_the_composed_form() -> None:
    # 127 decomposed "é" are 381 bytes as sent, but 254 bytes once composed.
    decomposed = "e\u0301" * 127 + "a"
    assert len(decomposed.encode("utf-8")) > MAX_FILENAME_BYTES

    result = normalize_filename(decomposed)

    assert len(result.encode("utf-8")) == MAX_FILENAME_BYTES


# --- normalize_filename: rejected names ---------------------------------------------------

REJECTED = {
    "empty": "",
    "space": " ",
    "spaces": "    ",
    "tab-only": "\t",
    "no-break-space": "\u00a0",
    "ideographic-space": "\u3000",
    "dot": ".",
    "dot-dot": "..",
    "slash": "a/b.txt",
    "leading-slash": "/etc/passwd",
    "traversal": "../../secret.txt",
    "backslash": "a\\b.txt",
    "windows-traversal": "..\\..\\boot.ini",
    "too-long": "a" * 1000,
    **{f"control-U+{ord(c):04X}": f"bad{c}name.txt" for c in CONTROL_CHARACTERS},
    **{f"separator-U+{ord(c):04X}": f"bad{c}name.txt" for c in LINE_SEPARATORS},
    "trailing-newline": "report.pdf\n",
    "crlf-header-injection": "a.txt\r\nSet-Cookie: x=1",
}


@pytest.mark.parametrize("raw", list(REJECTED.values()), ids=list(REJECTED))
def test_bad_filename_is_rejected_as_invalid_filename(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_filename(raw)
    assert caught.value.field == "filename"


@pytest.mark.parametrize("char", BIDI_CONTROLS, ids=[f"U+{ord(c):04X}" for c in BIDI_CONTROLS])
def test_filename_with_bidi_override_is_rejected(char: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_filename(f"invoice{char}fdp.exe")
    assert caught.value.field == "filename"
    assert "bidi" in caught.value.reason


@pytest.mark.parametrize("raw", ["a\ud800b.txt", "\udfff"], ids=["high", "low"])
def test_filename_with_lone_surrogate_is_rejected_as_invalid_filename(raw: str) -> None:
    # The rule rejects category Cs; the check must be reached rather than crash on encoding.
    with pytest.raises(InvalidInput) as caught:
        normalize_filename(raw)
    assert caught.value.field == "filename"


# --- content_disposition -----------------------------------------------------------------

CURATED_NAMES = [
    "report.pdf",
    "report 2024 (final).pdf",
    'say "hello".txt',
    '"',
    '""',
    "back\\slash.txt",
    "\\",
    'mixed "\\" ending\\',
    "semi;colon.txt",
    "a; filename=evil.exe",
    "a\"; filename*=UTF-8''evil.exe",
    "x%20y.txt",
    "%",
    "100%.txt",
    "it's.txt",
    "star*.txt",
    "comma,equals=.txt",
    "<angle>{brace}[bracket]?@.txt",
    "résumé.pdf",
    "Straße.txt",
    "日本語.txt",
    "日本語",
    "😀",
    "👨‍👩‍👧 family.jpg",
    "ﬁle.txt",  # compatibility ligature
    "\uff02fullwidth quote\uff02.txt",
    "\uff3cfullwidth backslash.txt",
    "\u00a0leading no-break space",
    "trailing dot.",
    " ",
    ".",
    "...",
    "العربية.pdf",
    "e\u0301",
]


def _generated_names(count: int) -> list[str]:
    """Stored names (through normalize_filename) built from characters that stress the header."""
    pool = [
        *"aZ09 .-_~",
        *"\"\\;,='*%()<>@?{}[]!#$&+^`|",
        "é", "ß", "ø", "\u0130", "\u0131", "日", "本", "한", "ع", "\u0301", "\u200d", "ﬁ",
        "\uff02", "\uff3c", "\u00a0", "\u3000", "😀", "👍🏽", "\U0010fffd",
    ]  # fmt: skip
    # A fixed seed: the same names on every run (S311: not for secrets, only variety).
    rng = random.Random(5987)  # noqa: S311
    names: list[str] = []
    while len(names) < count:
        raw = "".join(rng.choice(pool) for _ in range(rng.randint(1, 24)))
        try:
            names.append(normalize_filename(raw))
        except InvalidInput:
            continue
    return names


ALL_NAMES = CURATED_NAMES + _generated_names(150)


def _parse(header: str) -> tuple[str, str, str, str]:
    """(disposition, ASCII filename, decoded filename*, raw filename* value) via email's parser."""
    message = Message()
    message["Content-Disposition"] = header
    params = message.get_params(header="content-disposition")
    assert params is not None
    (disposition, empty), *rest = params
    assert empty == ""
    plain = [value for key, value in rest if key == "filename" and isinstance(value, str)]
    extended = [value for key, value in rest if key == "filename" and isinstance(value, tuple)]
    assert len(rest) == 2, f"expected exactly filename and filename*, got {rest}"
    assert len(plain) == 1
    assert len(extended) == 1
    charset, _language, _ = extended[0]
    assert charset.upper() == "UTF-8"
    raw_ext = header.rsplit("filename*=", 1)[1]
    return disposition, plain[0], collapse_rfc2231_value(extended[0]), raw_ext


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("disposition", ["attachment", "inline"])
def test_content_disposition_carries_the_exact_name_safely(name: str, disposition: str) -> None:
    header = content_disposition(name, disposition)  # type: ignore[arg-type]

    assert "\r" not in header
    assert "\n" not in header
    assert header.isascii()
    parsed_disposition, ascii_name, decoded_name, _ = _parse(header)
    assert parsed_disposition == disposition
    assert decoded_name == name
    assert ascii_name
    assert ascii_name.isascii()
    assert ascii_name.isprintable()
    assert '"' not in ascii_name
    assert "\\" not in ascii_name


@pytest.mark.parametrize("name", ALL_NAMES)
def test_extended_filename_is_rfc5987_and_percent_decodes_to_the_name(name: str) -> None:
    header = content_disposition(name, "attachment")

    _, _, _, raw_ext = _parse(header)
    prefix = "UTF-8''"
    assert raw_ext.startswith(prefix)
    value = raw_ext.removeprefix(prefix)
    assert RFC5987_VALUE.fullmatch(value), value
    assert unquote(value, encoding="utf-8", errors="strict") == name


@pytest.mark.parametrize(
    "name", ["report.pdf", "report 2024 (final).pdf", "a;b,c=d.txt", "it's.txt"]
)
def test_ascii_name_without_quotes_or_percent_is_its_own_fallback(name: str) -> None:
    _, ascii_name, _, _ = _parse(content_disposition(name, "attachment"))

    assert ascii_name == name


def test_fallback_has_no_percent_sign_for_clients_that_would_decode_it() -> None:
    _, ascii_name, _, extended = _parse(content_disposition("x%20y.txt", "attachment"))

    assert "%" not in ascii_name
    assert unquote(extended.removeprefix("UTF-8''")) == "x%20y.txt"


@pytest.mark.parametrize("name", ["報告.txt", "отчёт.pdf"])
def test_fallback_of_a_name_without_ascii_letters_keeps_the_extension_not_a_dotfile(
    name: str,
) -> None:
    _, ascii_name, _, _ = _parse(content_disposition(name, "attachment"))

    assert ascii_name == "download." + name.rsplit(".", 1)[1]


def test_fallback_drops_accents_rather_than_whole_letters() -> None:
    _, ascii_name, _, _ = _parse(content_disposition("résumé.pdf", "attachment"))

    assert ascii_name == "resume.pdf"
