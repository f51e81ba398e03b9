"""The one settings object, read from the environment and validated once at startup."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from backend.domain.content_types import is_allow_list_entry

GiB = 1024**3

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


def _describe(text: str) -> msgspec.Meta:
    return msgspec.Meta(description=text)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Service configuration. Field names are the environment variable names, lowercased."""

    database_url: Annotated[
        str,
        _describe(
            "Database URL: postgresql://user:pass@host:5432/db (the psycopg driver is chosen "
            "automatically) or sqlite:///path/to/file.db"
        ),
    ]
    database_iam_auth: Annotated[
        bool,
        _describe(
            "Log in to RDS with a fresh IAM auth token per connection (instance role); "
            "DATABASE_URL then carries no password and TLS is required"
        ),
    ] = False
    database_password_secret_arn: Annotated[
        str | None,
        _describe(
            "Secrets Manager secret holding the database password (RDS-managed JSON or a "
            "plain string); re-read every 5 minutes so rotation works"
        ),
    ] = None
    s3_bucket: Annotated[str, _describe("Bucket that receives the uploads")]
    s3_endpoint_url: Annotated[
        str | None,
        _describe("S3 endpoint for S3-compatible servers such as SeaweedFS; unset on AWS"),
    ] = None
    aws_region: Annotated[str, _describe("AWS region of the bucket")] = "us-east-1"
    s3_key_prefix: Annotated[
        str, _describe("Prefix of every object key the service creates; ends with /")
    ] = "uploads/"
    # At most an hour: URLs signed with instance-role credentials die with the role session,
    # which boto3 renews when it has 10-15 minutes left, so short lifetimes are the honest ones.
    upload_url_ttl_seconds: Annotated[
        int,
        _describe("Lifetime of a presigned upload form, in seconds (1-3600)"),
        msgspec.Meta(ge=1, le=3600),
    ] = 600
    download_url_ttl_seconds: Annotated[
        int,
        _describe("Lifetime of a presigned download URL, in seconds (1-3600)"),
        msgspec.Meta(ge=1, le=3600),
    ] = 300
    max_upload_bytes: Annotated[
        int,
        _describe("Largest file accepted in a single POST, in bytes (S3 takes at most 5 GiB)"),
        msgspec.Meta(ge=0, le=5 * GiB),
    ] = 5 * GiB
    allowed_content_types: Annotated[
        tuple[str, ...],
        _describe(
            "Comma-separated allow-list of content types; type/* matches a whole family. "
            "The default leaves out HTML, SVG, XHTML and JavaScript"
        ),
    ] = DEFAULT_CONTENT_TYPES
    database_pool_size: Annotated[
        int, _describe("Database connections kept open per process"), msgspec.Meta(ge=1)
    ] = 10
    worker_threads: Annotated[
        int,
        _describe("Threads per process for blocking database and S3 calls"),
        msgspec.Meta(ge=1),
    ] = 40
    s3_connect_timeout_seconds: Annotated[
        float, _describe("Connect timeout for S3 calls, in seconds"), msgspec.Meta(gt=0)
    ] = 3.0
    s3_read_timeout_seconds: Annotated[
        float, _describe("Read timeout for S3 calls, in seconds"), msgspec.Meta(gt=0)
    ] = 10.0
    host: Annotated[str, _describe("Address `serve` listens on")] = "127.0.0.1"
    port: Annotated[int, _describe("Port `serve` listens on"), msgspec.Meta(ge=1, le=65535)] = 8000
    web_concurrency: Annotated[
        int, _describe("Worker processes `serve` starts"), msgspec.Meta(ge=1)
    ] = 1
    log_level: Annotated[str, _describe("Log level: debug, info, warning or error")] = "info"

    def __post_init__(self) -> None:
        """Check the rules that span a field's value rather than its type."""
        _check_database_url(self.database_url, iam_auth=self.database_iam_auth)
        if self.s3_endpoint_url is not None:
            endpoint = urlsplit(self.s3_endpoint_url)
            if endpoint.scheme not in {"http", "https"} or not endpoint.hostname:
                raise ConfigError("S3_ENDPOINT_URL", "must be an http:// or https:// URL")
        if not _REGION.match(self.aws_region):
            raise ConfigError("AWS_REGION", "must be a region name such as eu-west-1")
        for entry in self.allowed_content_types:
            if not is_allow_list_entry(entry):
                raise ConfigError(
                    "ALLOWED_CONTENT_TYPES", f"{entry!r} is not type/subtype, type/* or prefix.*"
                )
        if self.database_iam_auth and self.database_password_secret_arn:
            raise ConfigError(
                "DATABASE_PASSWORD_SECRET_ARN", "choose either it or DATABASE_IAM_AUTH, not both"
            )
        if (self.database_iam_auth or self.database_password_secret_arn) and (
            self.database_url.startswith("sqlite")
        ):
            raise ConfigError("DATABASE_IAM_AUTH", "applies to PostgreSQL URLs only")
        if not self.s3_bucket:
            raise ConfigError("S3_BUCKET", "must not be empty")
        if not self.s3_key_prefix.endswith("/") or self.s3_key_prefix.startswith("/"):
            raise ConfigError("S3_KEY_PREFIX", "must end with / and not start with one")
        if not self.allowed_content_types:
            raise ConfigError("ALLOWED_CONTENT_TYPES", "must name at least one type")
        if self.log_level not in {"debug", "info", "warning", "error"}:
            raise ConfigError("LOG_LEVEL", "must be one of debug, info, warning, error")


_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def _check_database_url(raw: str, *, iam_auth: bool) -> None:
    try:
        url = make_url(raw)
        url.port  # noqa: B018  (parsing the port is the check)
    except (ArgumentError, ValueError):
        raise ConfigError("DATABASE_URL", "is not a valid URL") from None
    if url.drivername not in {"postgresql", "postgres", "postgresql+psycopg", "sqlite"}:
        raise ConfigError("DATABASE_URL", "must start with postgresql:// or sqlite://")
    # An IAM token is a password for 15 minutes: it must never cross the network in clear.
    if iam_auth and url.query.get("sslmode", "require") not in {
        "require",
        "verify-ca",
        "verify-full",
    }:
        raise ConfigError(
            "DATABASE_URL", "with DATABASE_IAM_AUTH, sslmode must be require or verify-*"
        )


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


def describe_settings() -> list[tuple[str, str, str]]:
    """Each setting as (ENV_NAME, default or "required", description), for docs and checks."""
    info = msgspec.inspect.type_info(Settings)
    if not isinstance(info, msgspec.inspect.StructType):  # pragma: no cover
        raise TypeError("Settings must be a msgspec Struct")
    rows = []
    for field in info.fields:
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
        rows.append((field.name.upper(), default, description))
    return rows


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment, raising ConfigError naming the first bad variable."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    for name, _default, _description in describe_settings():
        value = env.get(name)
        if value is None or value.strip() == "":
            continue
        raw[name.lower()] = _parse(name, value.strip())
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except ConfigError:
        raise
    except msgspec.ValidationError as exc:
        raise ConfigError(*_explain(exc)) from None


def _parse(name: str, value: str) -> Any:
    if name == "ALLOWED_CONTENT_TYPES":
        return tuple(part.strip().lower() for part in value.split(",") if part.strip())
    if name == "LOG_LEVEL":
        return value.lower()
    return value


def _explain(exc: msgspec.ValidationError) -> tuple[str, str]:
    """Turn msgspec's message ("Expected `int`, got `str` - at `$.port`") into (VAR, problem)."""
    message = str(exc)
    problem, _, where = message.partition(" - at `$.")
    if where:
        return where.rstrip("`").split("[")[0].upper(), problem.lower()
    if message.startswith("Object missing required field `"):
        field = message.removeprefix("Object missing required field `").rstrip("`")
        return field.upper(), "required but not set"
    return "configuration", message
