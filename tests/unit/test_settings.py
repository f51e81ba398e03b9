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
    as_environment,
    describe_settings,
    load_settings,
)

ENV_EXAMPLE = Path(__file__).parents[2] / ".env.example"
REQUIRED = {"DATABASE_URL": "postgresql://stowage@localhost:5432/stowage", "S3_BUCKET": "uploads"}


def _load(**overrides: str) -> Settings:
    return load_settings({**REQUIRED, **overrides})


def test_only_required_variables_give_documented_defaults() -> None:
    settings = load_settings(REQUIRED)

    assert settings.uploads.upload_url_ttl_seconds == 600
    assert settings.uploads.download_url_ttl_seconds == 300
    assert settings.uploads.max_upload_bytes == 5 * 1024**4
    assert settings.uploads.max_single_upload_bytes == 5 * 1024**3
    assert settings.uploads.multipart_threshold_bytes == 64 * 1024**2
    assert settings.storage.key_prefix == "uploads/"
    assert settings.uploads.allowed_content_types == DEFAULT_CONTENT_TYPES
    assert settings.storage.endpoint_url is None
    assert settings.database.password_secret_arn is None


def test_settings_come_from_the_given_mapping_not_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UPLOAD_URL_TTL_SECONDS", "5")
    monkeypatch.setenv("S3_BUCKET", "from-process-env")

    settings = load_settings(REQUIRED)

    assert settings.uploads.upload_url_ttl_seconds == 600
    assert settings.storage.bucket == REQUIRED["S3_BUCKET"]


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
        ("MAX_UPLOAD_BYTES", str(5 * 1024**4 + 1)),
        ("MAX_SINGLE_UPLOAD_BYTES", str(5 * 1024**3 + 1)),
        ("MULTIPART_THRESHOLD_BYTES", "-1"),
        ("MULTIPART_THRESHOLD_BYTES", str(5 * 1024**3 + 1)),
        ("DATABASE_POOL_SIZE", "0"),
        ("WORKER_THREADS", "many"),
        ("PORT", "0"),
        ("PORT", "65536"),
        ("PORT", "http"),
        ("WEB_CONCURRENCY", "0"),
        ("S3_CONNECT_TIMEOUT_SECONDS", "0"),
        ("S3_READ_TIMEOUT_SECONDS", "soon"),
        ("S3_MAX_ATTEMPTS", "0"),
        ("S3_MAX_ATTEMPTS", "11"),
        ("S3_MAX_CONCURRENT_CALLS", "0"),
        ("S3_MAX_CONCURRENT_CALLS", "40"),  # as many as WORKER_THREADS: none left for the rest
        ("DATABASE_URL", "mysql://stowage@localhost/stowage"),
        ("DATABASE_URL", "localhost:5432"),
        ("S3_KEY_PREFIX", "uploads"),
        ("S3_KEY_PREFIX", "/uploads/"),
        ("LOG_LEVEL", "verbose"),
        ("LOG_LEVEL", "trace"),
        ("ALLOWED_CONTENT_TYPES", ", ,"),
        ("ALLOWED_CONTENT_TYPES", "image/png,*/*"),
        ("ALLOWED_CONTENT_TYPES", "nonsense"),
        ("CORS_ALLOW_ORIGINS", "app.example.com"),
        ("CORS_ALLOW_ORIGINS", "https://app.example.com/"),
        ("CORS_ALLOW_ORIGINS", "https://app.example.com/path"),
        ("CORS_ALLOW_ORIGINS", "https://APP.example.com"),
        ("CORS_ALLOW_ORIGINS", "https://app.example.com:99999"),
        ("CORS_ALLOW_ORIGINS", "ftp://app.example.com"),
        ("CORS_ALLOW_ORIGINS", "https://user@app.example.com"),
        ("CORS_ALLOW_ORIGINS", "*,https://app.example.com"),
        ("OIDC_ISSUER", "http://login.example.com"),
        ("OIDC_ISSUER", "login.example.com"),
        ("OIDC_ALGORITHMS", "none"),
        ("OIDC_ALGORITHMS", "HS256"),
        ("OIDC_ALGORITHMS", "RS256,HS512"),
        ("OIDC_ALGORITHMS", " , "),
        ("LOG_FORMAT", "xml"),
        ("METRICS_ENABLED", "maybe"),
        ("METRICS_TOKEN", "change-me"),
        ("METRICS_TOKEN", "short"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
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
        ("UPLOAD_URL_TTL_SECONDS", " 60 ", "uploads.upload_url_ttl_seconds", 60),
        ("DOWNLOAD_URL_TTL_SECONDS", "1", "uploads.download_url_ttl_seconds", 1),
        ("MAX_UPLOAD_BYTES", "0", "uploads.max_upload_bytes", 0),
        ("S3_CONNECT_TIMEOUT_SECONDS", "0.5", "storage.connect_timeout_seconds", 0.5),
        ("DATABASE_URL", "postgres://u@h/db", "database.url", "postgres://u@h/db"),
        ("DATABASE_URL", "sqlite:///stowage.db", "database.url", "sqlite:///stowage.db"),
        ("S3_KEY_PREFIX", "tenant-a/files/", "storage.key_prefix", "tenant-a/files/"),
        (
            "S3_ENDPOINT_URL",
            "http://127.0.0.1:8333",
            "storage.endpoint_url",
            "http://127.0.0.1:8333",
        ),
        ("LOG_LEVEL", "debug", "server.log_level", "debug"),
        ("PORT", "65535", "server.port", 65535),
    ],
)
def test_well_formed_value_is_used(variable: str, value: str, field: str, expected: object) -> None:
    group, name = field.split(".")
    assert getattr(getattr(_load(**{variable: value}), group), name) == expected


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
    assert _load(ALLOWED_CONTENT_TYPES=value).uploads.allowed_content_types == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://app.example.com", ("https://app.example.com",)),
        (
            " https://app.example.com , http://localhost:5173 ",
            ("https://app.example.com", "http://localhost:5173"),
        ),
        ("*", ("*",)),
        ("http://[::1]:8080", ("http://[::1]:8080",)),
    ],
)
def test_cors_origins_are_an_exact_comma_list(value: str, expected: tuple[str, ...]) -> None:
    assert _load(CORS_ALLOW_ORIGINS=value).server.cors_allow_origins == expected


def test_oidc_is_off_unless_an_issuer_is_set() -> None:
    assert not load_settings(REQUIRED).oidc.enabled
    oidc = _load(OIDC_ISSUER="https://login.example.com", OIDC_AUDIENCE="stowage").oidc
    assert oidc.enabled
    assert oidc.algorithms == ("RS256", "ES256")
    assert oidc.owner_claim == "sub"


def test_an_issuer_without_an_audience_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        _load(OIDC_ISSUER="https://login.example.com")
    assert caught.value.variable == "OIDC_AUDIENCE"


def test_a_jwks_url_without_an_issuer_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        _load(OIDC_JWKS_URL="https://login.example.com/jwks")
    assert caught.value.variable == "OIDC_JWKS_URL"


def test_a_loopback_identity_provider_may_use_http() -> None:
    oidc = _load(
        OIDC_ISSUER="http://127.0.0.1:9000/realm",
        OIDC_AUDIENCE="stowage",
        OIDC_JWKS_URL="http://localhost:9000/jwks",
    ).oidc
    assert oidc.jwks_url == "http://localhost:9000/jwks"


# --- describe_settings -------------------------------------------------------------------


def test_every_setting_is_described() -> None:
    rows = describe_settings()
    names = [name for name, _default, _description in rows]

    groups = [msgspec.structs.fields(group.type) for group in msgspec.structs.fields(Settings)]
    assert names == [field.encode_name for fields in groups for field in fields]
    for name, _default, description in rows:
        assert description.strip(), f"{name} has no description"


def test_required_settings_are_marked_required() -> None:
    required = {name for name, default, _ in describe_settings() if default == "required"}

    assert required == set(REQUIRED)


@pytest.mark.parametrize(
    ("name", "default"),
    [
        (name, default)
        for name, default, _ in describe_settings()
        if default not in {"required", ""}
    ],
)
def test_documented_default_is_the_real_default(name: str, default: str) -> None:
    assert _load(**{name: default}) == load_settings(REQUIRED)


def test_settings_documented_without_a_default_are_unset() -> None:
    unset = {name for name, default, _ in describe_settings() if default == ""}
    assert unset == {
        "DATABASE_PASSWORD_SECRET_ARN",
        "DATABASE_POOL_SIZE",
        "S3_ENDPOINT_URL",
        "CORS_ALLOW_ORIGINS",
        "OIDC_ISSUER",
        "OIDC_AUDIENCE",
        "OIDC_JWKS_URL",
        "METRICS_TOKEN",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "QUOTA_BYTES",
        "QUOTA_FILES",
        "RATE_LIMIT_UPLOADS_PER_MINUTE",
        "RATE_LIMIT_REQUESTS_PER_MINUTE",
        "RATE_LIMIT_FAILED_AUTH_PER_MINUTE",
        "REDIS_URL",
    }
    assert unset.isdisjoint(as_environment(load_settings(REQUIRED)))


def test_the_environment_of_any_settings_loads_them_back() -> None:
    settings = _load(
        DATABASE_IAM_AUTH="true",
        DATABASE_URL="postgresql://stowage@db:5432/stowage?sslmode=verify-full",
        S3_ENDPOINT_URL="https://s3.example.test",
        ALLOWED_CONTENT_TYPES="image/png,audio/*",
        S3_READ_TIMEOUT_SECONDS="2.5",
    )
    assert load_settings(as_environment(settings)) == settings


@pytest.mark.parametrize("password", ["change-me", "CHANGE-ME", "changeme", "secret"])
def test_a_database_password_left_at_its_placeholder_is_refused(password: str) -> None:
    with pytest.raises(ConfigError, match="placeholder") as caught:
        _load(DATABASE_URL=f"postgresql://stowage:{password}@db:5432/stowage")
    assert caught.value.variable == "DATABASE_URL"


def test_the_env_example_database_url_is_refused_until_its_password_is_changed() -> None:
    example = re.search(r"^DATABASE_URL=(.+)$", ENV_EXAMPLE.read_text(), flags=re.MULTILINE)
    assert example is not None
    with pytest.raises(ConfigError, match="placeholder"):
        _load(DATABASE_URL=example.group(1))
    assert _load(DATABASE_URL=example.group(1).replace("change-me", "s3cr3t-Chosen")).database


def test_env_example_lists_every_setting() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    missing = [
        name
        for name, _default, _description in describe_settings()
        if not re.search(rf"^[ \t]*#?[ \t]*{name}[ \t]*=", text, flags=re.MULTILINE)
    ]

    assert not missing, f"{ENV_EXAMPLE.name} does not mention {missing}"


def test_a_multipart_threshold_over_the_single_request_limit_is_refused() -> None:
    environ = {
        "DATABASE_URL": "sqlite:///x.db",
        "S3_BUCKET": "b",
        "MAX_SINGLE_UPLOAD_BYTES": "1000",
        "MULTIPART_THRESHOLD_BYTES": "1001",
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    assert caught.value.variable == "MULTIPART_THRESHOLD_BYTES"


def test_quota_bytes_takes_sizes_as_people_write_them() -> None:
    assert _load(QUOTA_BYTES="10GiB").limits.quota_bytes == 10 * 1024**3
    assert _load(QUOTA_BYTES="500MB").limits.quota_bytes == 500_000_000
    assert _load(QUOTA_BYTES="1024").limits.quota_bytes == 1024
    with pytest.raises(ConfigError, match="QUOTA_BYTES"):
        _load(QUOTA_BYTES="ten gigs")
    with pytest.raises(ConfigError, match="QUOTA_FILES"):
        _load(QUOTA_FILES="-1")


def test_redis_url_must_be_a_redis_url() -> None:
    assert _load(REDIS_URL="redis://127.0.0.1:6379/0").limits.redis_url
    with pytest.raises(ConfigError, match="REDIS_URL"):
        _load(REDIS_URL="http://127.0.0.1:6379")
    with pytest.raises(ConfigError, match="RATE_LIMIT_REQUESTS_PER_MINUTE"):
        _load(RATE_LIMIT_REQUESTS_PER_MINUTE="0")
