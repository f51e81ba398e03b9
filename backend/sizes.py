"""Byte sizes as people write them: 1048576, 512MiB, 10GiB, 1.5TB."""

from __future__ import annotations

import re

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")


def parse_size(text: str) -> int:
    """A number of bytes from "10GiB", "500MB" or "1024"; ValueError for anything else."""
    match = _SIZE.match(text.lower())
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(f"{text!r} is not a size such as 1048576, 500MB or 10GiB")
    value = float(match.group(1)) * _UNITS[match.group(2)]
    if "." in match.group(1) and value != int(value):
        raise ValueError(f"{text!r} is not a whole number of bytes")
    return int(value)


def format_size(size: int) -> str:
    """A byte count for people: exact bytes, with a binary-unit approximation when large."""
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size} bytes ({size / factor:.1f} {unit})"
    return f"{size} bytes"
