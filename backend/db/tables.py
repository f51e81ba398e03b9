"""SQLModel tables. These describe storage only; wire types live in backend.http.schemas."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import class_mapper
from sqlmodel import Field, SQLModel

_Model = TypeVar("_Model", bound=SQLModel)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on PostgreSQL and SQLite alike.

    SQLite has no timezone type and hands back naive values; normalising on the way in and out
    keeps comparisons and cursors identical on both databases.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


OBJECT_KEY = sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql")


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table behind a table model, for statements that skip the ORM."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


@functools.cache
def _columns(model: type[SQLModel]) -> tuple[frozenset[str], frozenset[str]]:
    """A table model's column names, and those a row cannot do without (not null).

    Defaults do not make a column optional here: `record_of` applies none, and an explicit
    NULL in an INSERT would skip them.
    """
    columns = table_of(model).columns
    return frozenset(c.key for c in columns), frozenset(c.key for c in columns if not c.nullable)


def record_of(model: type[_Model], values: Mapping[str, Any]) -> _Model:
    """An instance built the way SQLAlchemy builds the rows it loads: these column values
    as they are (every not-null one included), None for the other columns.

    About twenty times cheaper than `model(**values)`, which runs SQLModel's setup of every
    field through change tracking; for the hot paths' rows, read or inserted with Core
    statements. Nothing tracks changes to it: never `session.add` or merge one.
    """
    names, required = _columns(model)
    if not values.keys() <= names or not required <= values.keys():
        unknown, missing = sorted(values.keys() - names), sorted(required - values.keys())
        raise TypeError(f"{model.__name__}: unknown columns {unknown}, missing {missing}")
    instance: _Model = class_mapper(model).class_manager.new_instance()
    state = instance.__dict__
    state.update(dict.fromkeys(names))
    state.update(values)
    # What pydantic's own construction would have set: model_dump and copies work as usual.
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


class Owner(SQLModel, table=True):
    """Whoever owns files: a named owner holding API keys, or an identity provider's user.

    The two kinds never meet: a named owner has no issuer, a user has no name, so no API key
    can be issued for a user and no token can act as a named owner.
    """

    __tablename__ = "owners"
    __table_args__ = (
        # One owner per (issuer, subject); what creating a user's owner on first use races on.
        sa.Index("ix_owners_issuer_subject", "issuer", "subject", unique=True),
        sa.CheckConstraint(
            "(name IS NOT NULL AND issuer IS NULL AND subject IS NULL)"
            " OR (name IS NULL AND issuer IS NOT NULL AND subject IS NOT NULL)",
            name="ck_owners_named_or_identified",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(200), nullable=True, unique=True)
    )
    # The token's iss, exactly as the provider writes it, and its owner claim (OIDC_OWNER_CLAIM).
    issuer: str | None = Field(default=None, sa_column=sa.Column(sa.String(1024), nullable=True))
    subject: str | None = Field(default=None, sa_column=sa.Column(sa.String(255), nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )


class ApiKey(SQLModel, table=True):
    """An API key: only its public id and a SHA-256 hash of the whole key are stored."""

    __tablename__ = "api_keys"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="owners.id", nullable=False, index=True)
    key_id: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, unique=True))
    key_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    revoked_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    # read or read-write (backend.domain.keys.Scope): a read key may only look.
    scope: str = Field(
        default="read-write",
        sa_column=sa.Column(sa.String(16), nullable=False, server_default="read-write"),
    )
    label: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    expires_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    # Written at most once a minute per key, so busy keys do not write on every request.
    last_used_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )


class File(SQLModel, table=True):
    """One uploaded (or announced) file and the facts verified about its object."""

    __tablename__ = "files"
    __table_args__ = (
        # Serves the listing exactly: owner, status, newest first, keyset on (created_at, id).
        sa.Index("ix_files_owner_status_created", "owner_id", "status", "created_at", "id"),
        # `search_name LIKE '%x%'` (a `q` search): trigrams on PostgreSQL find the few rows
        # that can match instead of reading the owner's whole history (migration 0005).
        sa.Index(
            "ix_files_search_name_trgm",
            "search_name",
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
        ),
        sa.CheckConstraint("size >= 0", name="ck_files_size_nonnegative"),
        sa.CheckConstraint(
            "status IN ('pending', 'ready', 'rejected', 'expired', 'deleting')",
            name="ck_files_status_known",
        ),
        # Serves the sweeper's claims: pending forms past expiry and decided files whose bucket
        # side is not yet settled. Settled files (nearly all of them) stay out of it.
        sa.Index(
            "ix_files_unsettled",
            "status",
            "upload_expires_at",
            postgresql_where=sa.text("settled_at IS NULL"),
            sqlite_where=sa.text("settled_at IS NULL"),
        ),
        # Serves the sweeper's search for deletes that stopped half-way.
        sa.Index(
            "ix_files_deleting",
            "deleting_since",
            postgresql_where=sa.text("status = 'deleting'"),
            sqlite_where=sa.text("status = 'deleting'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="owners.id", nullable=False)
    # Binary ("C") order on PostgreSQL, as S3 lists keys: reconcile merge-joins the two
    # listings, and the unique index then serves that order. SQLite compares bytes already.
    object_key: str = Field(sa_column=sa.Column(OBJECT_KEY, nullable=False, unique=True))
    filename: str = Field(sa_column=sa.Column(sa.String(1024), nullable=False))
    # casefold()ed filename: case-insensitive search that works the same on PostgreSQL and
    # SQLite (whose lower() only knows ASCII).
    search_name: str = Field(sa_column=sa.Column(sa.String(1024), nullable=False))
    content_type: str = Field(sa_column=sa.Column(sa.String(255), nullable=False))
    size: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    sha256: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    # One of backend.domain.files.FileStatus.
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    # For rejected files: [{field, declared, received}, ...], what differed.
    mismatches: list[dict[str, str]] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON(), nullable=True)
    )
    etag: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    version_id: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(1024), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    upload_expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    confirmed_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    # Multipart uploads only: S3's UploadId (never shown to clients) and the agreed part size.
    multipart_upload_id: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(1024), nullable=True)
    )
    part_size: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    # What confirm verified, once ready: one of backend.domain.records.Integrity.
    integrity: str | None = Field(default=None, sa_column=sa.Column(sa.String(16), nullable=True))
    # Multipart: the composite checksum S3 reported at completion ("<base64>-<parts>").
    composite_sha256: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(100), nullable=True)
    )

    # When the bucket came to hold exactly what the row says: a ready file's other object
    # versions pruned, or a rejected or expired file's bytes gone. Null until the sweeper (or
    # reconcile) has done that, once the form can no longer add versions.
    settled_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    # When a delete began: a row still `deleting` a while later was left by a crash or an
    # outage, and the sweeper finishes it.
    deleting_since: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )


class UploadPart(SQLModel, table=True):
    """The SHA-256 a multipart file's part was last signed with; completion passes it to S3."""

    __tablename__ = "upload_parts"

    file_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
        )
    )
    part_number: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True))
    sha256: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))


class IdempotencyKey(SQLModel, table=True):
    """An owner's Idempotency-Key for an upload request: a retry gets the same file back."""

    __tablename__ = "idempotency_keys"

    owner_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("owners.id", ondelete="CASCADE"), primary_key=True
        )
    )
    key: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))
    # SHA-256 of the request it was first used with: the same key with another body is refused.
    request_digest: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    file_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("files.id", ondelete="CASCADE"), nullable=False
        )
    )
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))


class OwnerUsage(SQLModel, table=True):
    """An owner's quota counters and limits, changed in the same transaction as their files.

    Pending files count as reserved, ready files as used; every other state counts nothing.
    A limit left null falls back to QUOTA_BYTES / QUOTA_FILES (unset there too: unlimited).
    """

    __tablename__ = "owner_usage"
    __table_args__ = (
        sa.CheckConstraint(
            "bytes_used >= 0 AND files_used >= 0 AND bytes_reserved >= 0 AND files_reserved >= 0",
            name="ck_owner_usage_nonnegative",
        ),
    )

    owner_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("owners.id", ondelete="CASCADE"), primary_key=True
        )
    )
    bytes_used: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False, server_default="0")
    )
    files_used: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False, server_default="0")
    )
    bytes_reserved: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False, server_default="0")
    )
    files_reserved: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False, server_default="0")
    )
    bytes_limit: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True)
    )
    files_limit: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True)
    )
