"""The one settings object, read from the environment and validated once at startup.

Settings are grouped by concern (database, storage, uploads, server, sweep, oidc,
observability, limits); each field's encoded name is its environment variable, so the groups
change nothing about how it is configured.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec

from backend.domain.content_types import is_allow_list_entry
from backend.sizes import parse_size

MiB = 1024**2
GiB = 1024**3
TiB = 1024**4

# A conservative default: common documents, images, media and archives. Anything a browser
# would render as active content from the bucket's origin (HTML, SVG, XHTML, JavaScript) is
# left out on purpose; operators can widen the list, never by accident.
DEFAULT_CONTENT_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/heic",
    "application/pdf",
    "text/plain",
    "text/markdown",
    "text/csv",
    "application/json",
    "application/zip",
    "application/gzip",
    "application/x-tar",
    "application/octet-stream",
    "application/vnd.openxmlformats-officedocument.*",
    "application/vnd.oasis.opendocument.*",
    "audio/*",
    "video/*",
)

# Values that stand in for a secret in examples (.env.example ships `change-me`): a service
# started with one of them was configured by copying, not by choosing a secret.
PLACEHOLDER_SECRETS = frozenset(
    {"change-me", "changeme", "change_me", "replace-me", "replaceme", "placeholder", "secret"}
)

# JWS algorithms signed with a private key and checked with a public one: never `none`, never
# HMAC (whose "public" key would let anyone who reads the JWKS mint tokens).
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_DRIVERS = {"postgresql", "postgres", "postgresql+psycopg", "sqlite"}


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class DatabaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the database is and how to log in to it."""

    url: Annotated[
        str,
        msgspec.Meta(
            description="Database URL: postgresql://user:pass@host:5432/db (the psycopg driver "
            "is chosen automatically) or sqlite:///path/to/file.db"
        ),
    ] = msgspec.field(name="DATABASE_URL")
    iam_auth: Annotated[
        bool,
        msgspec.Meta(
            description="Log in to RDS with a fresh IAM auth token per connection (instance "
            "role); DATABASE_URL then carries no password and TLS is required"
        ),
    ] = msgspec.field(default=False, name="DATABASE_IAM_AUTH")
    password_secret_arn: Annotated[
        str | None,
        msgspec.Meta(
            description="Secrets Manager secret holding the database password (RDS-managed "
            "JSON or a plain string); re-read every 5 minutes so rotation works"
        ),
    ] = msgspec.field(default=None, name="DATABASE_PASSWORD_SECRET_ARN")
    pool_size: Annotated[
        Annotated[int, msgspec.Meta(ge=1)] | None,
        msgspec.Meta(
            description="Database connections one process keeps open at most; unset: one per "
            "worker thread (WORKER_THREADS). Fewer makes threads wait for a connection"
        ),
    ] = msgspec.field(default=None, name="DATABASE_POOL_SIZE")

    def __post_init__(self) -> None:
        """Check the URL, and that the login options fit it and each other."""
        _check_database_url(self.url, iam_auth=self.iam_auth)
        if self.iam_auth and self.password_secret_arn:
            raise ConfigError(
                "DATABASE_PASSWORD_SECRET_ARN", "choose either it or DATABASE_IAM_AUTH, not both"
            )
        if (self.iam_auth or self.password_secret_arn) and self.url.startswith("sqlite"):
            raise ConfigError("DATABASE_IAM_AUTH", "applies to PostgreSQL URLs only")


class StorageSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The bucket and how to reach it."""

    bucket: Annotated[str, msgspec.Meta(description="Bucket that receives the uploads")] = (
        msgspec.field(name="S3_BUCKET")
    )
    endpoint_url: Annotated[
        str | None,
        msgspec.Meta(
            description="S3 endpoint for S3-compatible servers such as SeaweedFS; unset on AWS"
        ),
    ] = msgspec.field(default=None, name="S3_ENDPOINT_URL")
    region: Annotated[str, msgspec.Meta(description="AWS region of the bucket")] = msgspec.field(
        default="us-east-1", name="AWS_REGION"
    )
    key_prefix: Annotated[
        str, msgspec.Meta(description="Prefix of every object key the service creates; ends with /")
    ] = msgspec.field(default="uploads/", name="S3_KEY_PREFIX")
    connect_timeout_seconds: Annotated[
        float, msgspec.Meta(description="Connect timeout for S3 calls, in seconds", gt=0)
    ] = msgspec.field(default=2.0, name="S3_CONNECT_TIMEOUT_SECONDS")
    read_timeout_seconds: Annotated[
        float,
        msgspec.Meta(description="Longest wait for S3 to send the next bytes, in seconds", gt=0),
    ] = msgspec.field(default=5.0, name="S3_READ_TIMEOUT_SECONDS")
    max_attempts: Annotated[
        int,
        msgspec.Meta(
            description="Tries per S3 call, the first included: a call gives up after at most "
            "this many times connect + read timeout",
            ge=1,
            le=10,
        ),
    ] = msgspec.field(default=2, name="S3_MAX_ATTEMPTS")
    max_concurrent_calls: Annotated[
        int,
        msgspec.Meta(
            description="S3 calls one process makes at once; more get 503 storage_busy at once, "
            "so a hung S3 never holds every worker thread (must be below WORKER_THREADS)",
            ge=1,
        ),
    ] = msgspec.field(default=16, name="S3_MAX_CONCURRENT_CALLS")

    def __post_init__(self) -> None:
        """Check the names and URLs that S3 would refuse later, less clearly."""
        if not self.bucket:
            raise ConfigError("S3_BUCKET", "must not be empty")
        if self.endpoint_url is not None:
            endpoint = urlsplit(self.endpoint_url)
            if endpoint.scheme not in {"http", "https"} or not endpoint.hostname:
                raise ConfigError("S3_ENDPOINT_URL", "must be an http:// or https:// URL")
        if not _REGION.match(self.region):
            raise ConfigError("AWS_REGION", "must be a region name such as eu-west-1")
        if not self.key_prefix.endswith("/") or self.key_prefix.startswith("/"):
            raise ConfigError("S3_KEY_PREFIX", "must end with / and not start with one")


class UploadSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What may be uploaded, and how long presigned URLs live."""

    # At most an hour: URLs signed with instance-role credentials die with the role session,
    # which boto3 renews when it has 10-15 minutes left, so short lifetimes are the honest ones.
    upload_url_ttl_seconds: Annotated[
        int,
        msgspec.Meta(
            description="Lifetime of a presigned upload form, in seconds (1-3600)", ge=1, le=3600
        ),
    ] = msgspec.field(default=600, name="UPLOAD_URL_TTL_SECONDS")
    download_url_ttl_seconds: Annotated[
        int,
        msgspec.Meta(
            description="Lifetime of a presigned download URL, in seconds (1-3600)", ge=1, le=3600
        ),
    ] = msgspec.field(default=300, name="DOWNLOAD_URL_TTL_SECONDS")
    max_upload_bytes: Annotated[
        int,
        msgspec.Meta(
            description="Largest file accepted, in bytes, multipart included (S3 takes at most "
            "5 TiB)",
            ge=0,
            le=5 * TiB,
        ),
    ] = msgspec.field(default=5 * TiB, name="MAX_UPLOAD_BYTES")
    max_single_upload_bytes: Annotated[
        int,
        msgspec.Meta(
            description="Largest file accepted in one POST form or PUT, in bytes (S3 takes at "
            "most 5 GiB in one request); larger files go multipart",
            ge=0,
            le=5 * GiB,
        ),
    ] = msgspec.field(default=5 * GiB, name="MAX_SINGLE_UPLOAD_BYTES")
    multipart_threshold_bytes: Annotated[
        int,
        msgspec.Meta(
            description="Files larger than this go multipart unless the client asks otherwise, "
            "in bytes (at most MAX_SINGLE_UPLOAD_BYTES)",
            ge=0,
            le=5 * GiB,
        ),
    ] = msgspec.field(default=64 * MiB, name="MULTIPART_THRESHOLD_BYTES")
    allowed_content_types: Annotated[
        tuple[str, ...],
        msgspec.Meta(
            description="Comma-separated allow-list of content types; type/* matches a whole "
            "family. The default leaves out HTML, SVG, XHTML and JavaScript"
        ),
    ] = msgspec.field(default=DEFAULT_CONTENT_TYPES, name="ALLOWED_CONTENT_TYPES")

    def __post_init__(self) -> None:
        """Every allow-list entry must be a type, a family or a vendor tree; limits agree."""
        if self.multipart_threshold_bytes > self.max_single_upload_bytes:
            raise ConfigError(
                "MULTIPART_THRESHOLD_BYTES", "must not be over MAX_SINGLE_UPLOAD_BYTES"
            )
        if not self.allowed_content_types:
            raise ConfigError("ALLOWED_CONTENT_TYPES", "must name at least one type")
        for entry in self.allowed_content_types:
            if not is_allow_list_entry(entry):
                raise ConfigError(
                    "ALLOWED_CONTENT_TYPES", f"{entry!r} is not type/subtype, type/* or prefix.*"
                )


class SweepSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Cleaning up after uploads that never finished, deletes that stopped, reused forms."""

    interval_seconds: Annotated[
        int,
        msgspec.Meta(
            description="How often `serve` sweeps in the background, in seconds (jittered by up "
            "to a fifth); 0 turns it off, leaving `python -m backend sweep` to a timer",
            ge=0,
        ),
    ] = msgspec.field(default=0, name="SWEEP_INTERVAL_SECONDS")
    grace_seconds: Annotated[
        int,
        msgspec.Meta(
            description="How long after a form's expiry the sweeper waits before deciding an "
            "upload (a large form upload can still be streaming when the form expires)",
            ge=0,
        ),
    ] = msgspec.field(default=3600, name="SWEEP_GRACE_SECONDS")
    batch_size: Annotated[
        int,
        msgspec.Meta(description="Files the sweeper claims and settles per transaction", ge=1),
    ] = msgspec.field(default=100, name="SWEEP_BATCH_SIZE")
    page_size: Annotated[
        int,
        msgspec.Meta(
            description="Objects per bucket listing page and rows per table page when sweep "
            "and reconcile walk the whole bucket (1-1000)",
            ge=1,
            le=1000,
        ),
    ] = msgspec.field(default=1000, name="SWEEP_PAGE_SIZE")


class ServerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How `serve` listens, and how much work one process takes on at once."""

    host: Annotated[str, msgspec.Meta(description="Address `serve` listens on")] = msgspec.field(
        default="127.0.0.1", name="HOST"
    )
    port: Annotated[int, msgspec.Meta(description="Port `serve` listens on", ge=1, le=65535)] = (
        msgspec.field(default=8000, name="PORT")
    )
    web_concurrency: Annotated[
        int, msgspec.Meta(description="Worker processes `serve` starts", ge=1)
    ] = msgspec.field(default=1, name="WEB_CONCURRENCY")
    worker_threads: Annotated[
        int,
        msgspec.Meta(
            description="Threads per process that run requests' blocking database and S3 calls",
            ge=1,
        ),
    ] = msgspec.field(default=40, name="WORKER_THREADS")
    key_cache_seconds: Annotated[
        float,
        msgspec.Meta(
            description="How long a process may answer for an API key from memory instead of "
            "the database: a revoked key stops working within this time; 0 asks every time",
            ge=0,
            le=60,
        ),
    ] = msgspec.field(default=5.0, name="KEY_CACHE_SECONDS")
    log_level: Annotated[
        str, msgspec.Meta(description="Log level: debug, info, warning or error")
    ] = msgspec.field(default="info", name="LOG_LEVEL")
    cors_allow_origins: Annotated[
        tuple[str, ...],
        msgspec.Meta(
            description="Comma-separated exact origins (scheme://host[:port]) of web apps that "
            "call the API and the bucket; empty sends no CORS headers; * only on its own"
        ),
    ] = msgspec.field(default=(), name="CORS_ALLOW_ORIGINS")

    def __post_init__(self) -> None:
        """Only the levels uvicorn and logging share; origins exactly as browsers send them."""
        if self.log_level not in {"debug", "info", "warning", "error"}:
            raise ConfigError("LOG_LEVEL", "must be one of debug, info, warning, error")
        if "*" in self.cors_allow_origins and len(self.cors_allow_origins) > 1:
            raise ConfigError("CORS_ALLOW_ORIGINS", "* stands alone or not at all")
        for origin in self.cors_allow_origins:
            if origin != "*" and not _is_origin(origin):
                raise ConfigError(
                    "CORS_ALLOW_ORIGINS",
                    f"{origin!r} is not an origin such as https://app.example.com",
                )


class OidcSettings(msgspec.Struct, frozen=True, kw_only=True):
    """End users' access tokens from an OpenID Connect provider, accepted beside API keys."""

    issuer: Annotated[
        str | None,
        msgspec.Meta(
            description="Issuer URL of the identity provider whose access tokens the API "
            "accepts (exactly as in the tokens' iss); unset turns tokens off"
        ),
    ] = msgspec.field(default=None, name="OIDC_ISSUER")
    audience: Annotated[
        str | None,
        msgspec.Meta(description="The aud a token must carry; required with OIDC_ISSUER"),
    ] = msgspec.field(default=None, name="OIDC_AUDIENCE")
    jwks_url: Annotated[
        str | None,
        msgspec.Meta(
            description="The provider's signing keys (JWKS); unset: discovered from the "
            "issuer's /.well-known/openid-configuration"
        ),
    ] = msgspec.field(default=None, name="OIDC_JWKS_URL")
    owner_claim: Annotated[
        str, msgspec.Meta(description="The claim that names the user who owns the files")
    ] = msgspec.field(default="sub", name="OIDC_OWNER_CLAIM")
    algorithms: Annotated[
        tuple[str, ...],
        msgspec.Meta(description="Comma-separated signature algorithms accepted (asymmetric only)"),
    ] = msgspec.field(default=("RS256", "ES256"), name="OIDC_ALGORITHMS")

    def __post_init__(self) -> None:
        """Tokens need an audience, https (but on loopback), and public-key algorithms only."""
        for variable, url in (("OIDC_ISSUER", self.issuer), ("OIDC_JWKS_URL", self.jwks_url)):
            if url is not None and not is_trusted_url(url):
                raise ConfigError(variable, "must be an https:// URL (http:// only on loopback)")
        if self.jwks_url is not None and self.issuer is None:
            raise ConfigError("OIDC_JWKS_URL", "needs OIDC_ISSUER")
        if self.issuer is not None and not self.audience:
            raise ConfigError("OIDC_AUDIENCE", "required with OIDC_ISSUER")
        if not self.owner_claim:
            raise ConfigError("OIDC_OWNER_CLAIM", "must name a claim")
        if not self.algorithms:
            raise ConfigError("OIDC_ALGORITHMS", "must name at least one algorithm")
        for algorithm in self.algorithms:
            if algorithm not in ASYMMETRIC_ALGORITHMS:
                raise ConfigError(
                    "OIDC_ALGORITHMS",
                    f"{algorithm!r} is not one of {', '.join(sorted(ASYMMETRIC_ALGORITHMS))}",
                )

    @property
    def enabled(self) -> bool:
        """Whether bearer tokens from an identity provider are accepted at all."""
        return self.issuer is not None


class ObservabilitySettings(msgspec.Struct, frozen=True, kw_only=True):
    """What the service tells its operators: log lines and metrics."""

    log_format: Annotated[
        str,
        msgspec.Meta(
            description="auto (plain text in a terminal, JSON lines otherwise), json or text"
        ),
    ] = msgspec.field(default="auto", name="LOG_FORMAT")
    metrics_enabled: Annotated[
        bool, msgspec.Meta(description="Serve Prometheus metrics at /metrics")
    ] = msgspec.field(default=False, name="METRICS_ENABLED")
    metrics_token: Annotated[
        str | None,
        msgspec.Meta(
            description="When set, /metrics answers only requests carrying "
            "Authorization: Bearer <METRICS_TOKEN>"
        ),
    ] = msgspec.field(default=None, name="METRICS_TOKEN")

    otlp_endpoint: Annotated[
        str | None,
        msgspec.Meta(
            description="OpenTelemetry collector (OTLP over HTTP) that receives traces of "
            "requests, S3 calls and statements; unset: no tracing"
        ),
    ] = msgspec.field(default=None, name="OTEL_EXPORTER_OTLP_ENDPOINT")

    def __post_init__(self) -> None:
        """A known format; a token that is a real secret, not the example's placeholder."""
        if self.log_format not in {"auto", "json", "text"}:
            raise ConfigError("LOG_FORMAT", "must be auto, json or text")
        if self.metrics_token is not None:
            if self.metrics_token.lower() in PLACEHOLDER_SECRETS:
                raise ConfigError("METRICS_TOKEN", "is an example placeholder; set a real secret")
            if len(self.metrics_token) < 16:
                raise ConfigError("METRICS_TOKEN", "must be at least 16 characters")
        if self.otlp_endpoint is not None and urlsplit(self.otlp_endpoint).scheme not in {
            "http",
            "https",
        }:
            raise ConfigError("OTEL_EXPORTER_OTLP_ENDPOINT", "must be an http:// or https:// URL")


# Optional numbers: the bound goes on the number, the description on the optional field.
_Count = Annotated[int, msgspec.Meta(ge=0)]
_Rate = Annotated[int, msgspec.Meta(ge=1)]


class LimitsSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What one owner may store and how fast any caller may call."""

    quota_bytes: Annotated[
        _Count | None,
        msgspec.Meta(
            description="Bytes each owner may hold, pending uploads included (sizes like "
            "10GiB accepted); unset: unlimited. `quota set` overrides it per owner",
        ),
    ] = msgspec.field(default=None, name="QUOTA_BYTES")
    quota_files: Annotated[
        _Count | None,
        msgspec.Meta(
            description="Files each owner may hold, pending uploads included; unset: "
            "unlimited. `quota set` overrides it per owner",
        ),
    ] = msgspec.field(default=None, name="QUOTA_FILES")
    uploads_per_minute: Annotated[
        _Rate | None,
        msgspec.Meta(
            description="Announcements (POST /files/upload) each owner may make per minute; "
            "unset: no limit",
        ),
    ] = msgspec.field(default=None, name="RATE_LIMIT_UPLOADS_PER_MINUTE")
    requests_per_minute: Annotated[
        _Rate | None,
        msgspec.Meta(
            description="Other authenticated requests each owner may make per minute; unset: "
            "no limit",
        ),
    ] = msgspec.field(default=None, name="RATE_LIMIT_REQUESTS_PER_MINUTE")
    failed_auth_per_minute: Annotated[
        _Rate | None,
        msgspec.Meta(
            description="Requests with a missing or wrong credential each client address may "
            "make per minute; unset: no limit",
        ),
    ] = msgspec.field(default=None, name="RATE_LIMIT_FAILED_AUTH_PER_MINUTE")
    redis_url: Annotated[
        str | None,
        msgspec.Meta(
            description="redis://host:6379/0: rate limits shared by every worker and "
            "instance; unset: each process counts on its own"
        ),
    ] = msgspec.field(default=None, name="REDIS_URL")
    rate_limit_key_prefix: Annotated[
        str,
        msgspec.Meta(
            description="Prefix of the rate limit counters' Redis keys: deployments sharing "
            "one Redis keep separate budgets with different prefixes"
        ),
    ] = msgspec.field(default="stowage", name="RATE_LIMIT_KEY_PREFIX")

    def __post_init__(self) -> None:
        """A Redis URL the client library understands."""
        if self.redis_url is not None and urlsplit(self.redis_url).scheme not in {
            "redis",
            "rediss",
            "unix",
        }:
            raise ConfigError("REDIS_URL", "must start with redis://, rediss:// or unix://")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Service configuration: one frozen object, built by `load_settings` and never changed."""

    database: DatabaseSettings
    storage: StorageSettings
    uploads: UploadSettings = msgspec.field(default_factory=UploadSettings)
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    sweep: SweepSettings = msgspec.field(default_factory=SweepSettings)
    oidc: OidcSettings = msgspec.field(default_factory=OidcSettings)
    observability: ObservabilitySettings = msgspec.field(default_factory=ObservabilitySettings)
    limits: LimitsSettings = msgspec.field(default_factory=LimitsSettings)

    def __post_init__(self) -> None:
        """The checks that span groups."""
        if self.storage.max_concurrent_calls >= self.server.worker_threads:
            raise ConfigError(
                "S3_MAX_CONCURRENT_CALLS",
                f"must be below WORKER_THREADS ({self.server.worker_threads}), so that "
                "requests needing only the database keep threads while S3 is slow",
            )


_GROUPS: dict[str, type[msgspec.Struct]] = {
    "database": DatabaseSettings,
    "storage": StorageSettings,
    "uploads": UploadSettings,
    "server": ServerSettings,
    "sweep": SweepSettings,
    "oidc": OidcSettings,
    "observability": ObservabilitySettings,
    "limits": LimitsSettings,
}
_LISTS = {"ALLOWED_CONTENT_TYPES", "CORS_ALLOW_ORIGINS", "OIDC_ALGORITHMS"}


def _is_origin(text: str) -> bool:
    """scheme://host[:port], nothing more: what a browser sends in Origin."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (parsing the port is the check)
    except ValueError:
        return False
    return (
        parts.scheme in {"http", "https"}
        and bool(parts.hostname)
        and text == f"{parts.scheme}://{parts.netloc}"
        and not parts.username
        and text == text.lower()
    )


def is_trusted_url(text: str) -> bool:
    """https://..., or http:// to this machine (a local identity provider in development)."""
    parts = urlsplit(text)
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"}
    )


def _check_database_url(raw: str, *, iam_auth: bool) -> None:
    # Imported here so `python -m backend --help` does not load SQLAlchemy.
    from sqlalchemy.engine import make_url  # noqa: PLC0415
    from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

    try:
        url = make_url(raw)
        url.port  # noqa: B018  (parsing the port is the check)
    except (ArgumentError, ValueError):
        raise ConfigError("DATABASE_URL", "is not a valid URL") from None
    if url.drivername not in _DRIVERS:
        raise ConfigError("DATABASE_URL", "must start with postgresql:// or sqlite://")
    if url.password is not None and url.password.lower() in PLACEHOLDER_SECRETS:
        raise ConfigError(
            "DATABASE_URL", "its password is an example placeholder; set the real one"
        )
    # An IAM token is a password for 15 minutes: it must never cross the network in clear.
    if iam_auth and url.query.get("sslmode", "require") not in {
        "require",
        "verify-ca",
        "verify-full",
    }:
        raise ConfigError(
            "DATABASE_URL", "with DATABASE_IAM_AUTH, sslmode must be require or verify-*"
        )


def _fields() -> Iterator[tuple[str, msgspec.inspect.Field]]:
    """(group name, field) for every setting, in documentation order."""
    for group, kind in _GROUPS.items():
        info = msgspec.inspect.type_info(kind)
        if not isinstance(info, msgspec.inspect.StructType):  # pragma: no cover
            raise TypeError(f"{kind.__name__} must be a msgspec Struct")
        for field in info.fields:
            yield group, field


def describe_settings() -> list[tuple[str, str, str]]:
    """Each setting as (ENV_NAME, default or "required", description), for docs and checks."""
    rows = []
    for _group, field in _fields():
        schema = (
            field.type.extra_json_schema
            if isinstance(field.type, msgspec.inspect.Metadata)
            else None
        )
        description = str((schema or {}).get("description", ""))
        if field.required:
            default = "required"
        elif isinstance(field.default, tuple):
            default = ",".join(field.default)
        else:
            default = "" if field.default is None else str(field.default)
        rows.append((field.encode_name, default, description))
    return rows


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment, raising ConfigError naming the first bad variable."""
    env = os.environ if environ is None else environ
    raw: dict[str, dict[str, Any]] = {group: {} for group in _GROUPS}
    for group, field in _fields():
        value = env.get(field.encode_name)
        if value is None or value.strip() == "":
            continue
        raw[group][field.encode_name] = _parse(field.encode_name, value.strip())
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except ConfigError:
        raise
    except msgspec.ValidationError as exc:
        raise ConfigError(*_explain(exc)) from None


def as_environment(settings: Settings) -> dict[str, str]:
    """The variables that `load_settings` turns back into these settings (unset ones left out)."""
    env = {}
    for group in msgspec.to_builtins(settings).values():
        for name, value in group.items():
            if value is None or value in ((), []):
                continue
            if isinstance(value, list | tuple):
                env[name] = ",".join(value)
            elif isinstance(value, bool):
                env[name] = "true" if value else "false"
            else:
                env[name] = str(value)
    return env


def _parse(name: str, value: str) -> Any:
    if name in _LISTS:
        parts = tuple(part.strip() for part in value.split(",") if part.strip())
        return tuple(part.lower() for part in parts) if name == "ALLOWED_CONTENT_TYPES" else parts
    if name == "LOG_LEVEL":
        return value.lower()
    if name == "QUOTA_BYTES":
        try:
            return parse_size(value)
        except ValueError as exc:
            raise ConfigError(name, str(exc)) from None
    return value


def _explain(exc: msgspec.ValidationError) -> tuple[str, str]:
    """Turn msgspec's message ("Expected `int`, got `str` - at `$.server.PORT`") into (VAR, why)."""
    message = str(exc)
    problem, _, where = message.partition(" - at `$.")
    if problem.startswith("Object missing required field `"):
        field = problem.removeprefix("Object missing required field `").rstrip("`")
        return field, "required but not set"
    if where:
        return where.rstrip("`").split(".")[-1].split("[")[0], problem.lower()
    return "configuration", message
