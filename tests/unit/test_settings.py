"""Configuration: read from a mapping, validated once, every bad value named."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from backend.settings import (
    DEFAULT_CONTENT_TYPES,
    ConfigError,
    Settings,
    describe_settings,
    load_settings,
)

ENV_EXAMPLE = Path(__file__).parents[2] / ".env.example"
REQUIRED = {"DATABASE_URL": "postgresql://stowage@localhost:5432/stowage", "S3_BUCKET": "uploads"}


def _load(**overrides: str) -> Settings:
    return load_settings({**REQUIRED, **overrides})


def test_only_required_variables_give_documented_defaults() -> None:
    settings = load_settings(REQUIRED)

    assert settings.upload_url_ttl_seconds == 600
    assert settings.download_url_ttl_seconds == 300
    assert settings.max_upload_bytes == 5 * 1024**3
    assert settings.s3_key_prefix == "uploads/"
    assert settings.allowed_content_types == DEFAULT_CONTENT_TYPES
    assert settings.s3_endpoint_url is None


def test_settings_come_from_the_given_mapping_not_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UPLOAD_URL_TTL_SECONDS", "5")
    monkeypatch.setenv("S3_BUCKET", "from-process-env")

    settings = load_settings(REQUIRED)

    assert settings.upload_url_ttl_seconds == 600
    assert settings.s3_bucket == REQUIRED["S3_BUCKET"]


@pytest.mark.parametrize("variable", sorted(REQUIRED))
@pytest.mark.parametrize("value", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_missing_required_variable_is_named(variable: str, value: str | None) -> None:
    environ = {k: v for k, v in REQUIRED.items() if k != variable}
    if value is not None:
        environ[variable] = value

    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    assert str(caught.value).startswith(variable)
    assert caught.value.variable == variable


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("UPLOAD_URL_TTL_SECONDS", "abc"),
        ("UPLOAD_URL_TTL_SECONDS", "-1"),
        ("UPLOAD_URL_TTL_SECONDS", "0"),
        ("UPLOAD_URL_TTL_SECONDS", "1.5"),
        ("UPLOAD_URL_TTL_SECONDS", "3601"),
        ("DOWNLOAD_URL_TTL_SECONDS", "86400"),
        ("DOWNLOAD_URL_TTL_SECONDS", "-1"),
        ("DOWNLOAD_URL_TTL_SECONDS", "ten"),
        ("MAX_UPLOAD_BYTES", "-1"),
        ("MAX_UPLOAD_BYTES", "5GiB"),
        ("DATABASE_POOL_SIZE", "0"),
        ("WORKER_THREADS", "many"),
        ("PORT", "0"),
        ("PORT", "65536"),
        ("PORT", "http"),
        ("WEB_CONCURRENCY", "0"),
        ("S3_CONNECT_TIMEOUT_SECONDS", "0"),
        ("S3_READ_TIMEOUT_SECONDS", "soon"),
        ("DATABASE_URL", "mysql://stowage@localhost/stowage"),
        ("DATABASE_URL", "localhost:5432"),
        ("S3_KEY_PREFIX", "uploads"),
        ("S3_KEY_PREFIX", "/uploads/"),
        ("LOG_LEVEL", "verbose"),
        ("LOG_LEVEL", "trace"),
        ("ALLOWED_CONTENT_TYPES", ", ,"),
        ("ALLOWED_CONTENT_TYPES", "image/png,*/*"),
        ("ALLOWED_CONTENT_TYPES", "nonsense"),
    ],
)
def test_malformed_value_is_refused_naming_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(**{variable: value})
    assert str(caught.value).startswith(variable)
    assert caught.value.variable == variable


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("UPLOAD_URL_TTL_SECONDS", " 60 ", "upload_url_ttl_seconds", 60),
        ("DOWNLOAD_URL_TTL_SECONDS", "1", "download_url_ttl_seconds", 1),
        ("MAX_UPLOAD_BYTES", "0", "max_upload_bytes", 0),
        ("S3_CONNECT_TIMEOUT_SECONDS", "0.5", "s3_connect_timeout_seconds", 0.5),
        ("DATABASE_URL", "postgres://u@h/db", "database_url", "postgres://u@h/db"),
        ("DATABASE_URL", "sqlite:///stowage.db", "database_url", "sqlite:///stowage.db"),
        ("S3_KEY_PREFIX", "tenant-a/files/", "s3_key_prefix", "tenant-a/files/"),
        ("S3_ENDPOINT_URL", "http://127.0.0.1:8333", "s3_endpoint_url", "http://127.0.0.1:8333"),
        ("LOG_LEVEL", "debug", "log_level", "debug"),
        ("PORT", "65535", "port", 65535),
    ],
)
def test_well_formed_value_is_used(variable: str, value: str, field: str, expected: object) -> None:
    assert getattr(_load(**{variable: value}), field) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("image/png", ("image/png",)),
        ("image/png,application/pdf", ("image/png", "application/pdf")),
        (" Image/PNG , APPLICATION/PDF ,audio/* ", ("image/png", "application/pdf", "audio/*")),
        ("image/png,,text/plain,", ("image/png", "text/plain")),
    ],
)
def test_allowed_content_types_is_a_lowercased_comma_list(
    value: str, expected: tuple[str, ...]
) -> None:
    assert _load(ALLOWED_CONTENT_TYPES=value).allowed_content_types == expected


# --- describe_settings -------------------------------------------------------------------


def test_every_setting_is_described() -> None:
    rows = describe_settings()
    names = [name for name, _default, _description in rows]

    assert names == [field.name.upper() for field in msgspec.structs.fields(Settings)]
    for name, _default, description in rows:
        assert description.strip(), f"{name} has no description"


def test_required_settings_are_marked_required() -> None:
    required = {name for name, default, _ in describe_settings() if default == "required"}

    assert required == set(REQUIRED)


@pytest.mark.parametrize(
    ("name", "default"),
    [(name, default) for name, default, _ in describe_settings() if default != "required"],
)
def test_documented_default_is_the_real_default(name: str, default: str) -> None:
    assert _load(**{name: default}) == load_settings(REQUIRED)


def test_env_example_lists_every_setting() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    missing = [
        name
        for name, _default, _description in describe_settings()
        if not re.search(rf"^[ \t]*#?[ \t]*{name}[ \t]*=", text, flags=re.MULTILINE)
    ]

    assert not missing, f"{ENV_EXAMPLE.name} does not mention {missing}"
