"""Secrets the local stack keeps in its data folder: written privately, read back on restart."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Self


@dataclass(frozen=True)
class S3Credentials:
    """An access key pair that the local server accepts."""

    access_key: str
    secret_key: str = field(repr=False)

    @classmethod
    def generate(cls) -> Self:
        """Return a new random key pair."""
        return cls(
            access_key="LOCAL" + secrets.token_hex(8).upper(), secret_key=secrets.token_urlsafe(30)
        )

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a key pair saved by `save`."""
        data = json.loads(path.read_text(encoding="utf-8"))
        try:
            return cls(access_key=str(data["access_key"]), secret_key=str(data["secret_key"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path} holds no access_key and secret_key") from exc

    @classmethod
    def load_or_generate(cls, path: Path) -> Self:
        """Read the key pair at `path`, or generate one and save it there."""
        if path.exists():
            return cls.load(path)
        credentials = cls.generate()
        credentials.save(path)
        return credentials

    def save(self, path: Path) -> None:
        """Write the key pair as JSON readable by the owner only."""
        write_private(path, json.dumps(asdict(self), indent=2) + "\n")


def write_private(path: Path, text: str) -> None:
    """Write `text` readable by the owner only.

    A 0600 sibling is written and renamed, so the secret is never readable by others, even
    briefly, and a crash never leaves half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    partial.touch(mode=0o600)
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
