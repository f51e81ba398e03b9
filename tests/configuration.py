"""Settings for tests, built through the same loader as the service's own environment."""

from __future__ import annotations

from typing import Any

from backend.settings import Settings, as_environment, load_settings


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(value)
    return str(value)


def settings_from(**values: Any) -> Settings:
    """Settings from variables named in lower case: `s3_bucket="b"` means S3_BUCKET=b."""
    return load_settings({name.upper(): _text(value) for name, value in values.items()})


def replace_settings(settings: Settings, **values: Any) -> Settings:
    """The same settings with some variables set differently (named as in `settings_from`)."""
    changed = {name.upper(): _text(value) for name, value in values.items()}
    return load_settings({**as_environment(settings), **changed})
