"""Helpers for sweeper and reconcile tests: age a file's form, look at rows and object versions."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from mypy_boto3_s3 import S3Client

from backend.db.tables import utcnow
from backend.domain.reconcile import Reconciler
from backend.domain.sweeper import Sweeper
from backend.resources import Resources

LONG_AGO = timedelta(hours=2)


def sweeper(resources: Resources) -> Sweeper:
    """A sweeper on these resources and their settings."""
    return Sweeper(resources.engine, resources.storage, resources.settings)


def reconciler(resources: Resources) -> Reconciler:
    """A reconciler on these resources and their settings."""
    return Reconciler(resources.engine, resources.storage, resources.settings)


def expire_form(engine: sa.Engine, file_id: str, ago: timedelta = LONG_AGO) -> None:
    """Move the file's form expiry into the past, past the default grace, instead of waiting."""
    update(engine, file_id, upload_expires_at=utcnow() - ago)


def update(engine: sa.Engine, file_id: str, **values: Any) -> None:
    """Change a file's row behind the service's back.

    The owner's quota counters are brought in line, as the service keeps them: the state
    made here is one the service could have reached, not a drift for reconcile to find.
    """
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"UPDATE files SET {assignments} WHERE id = :id"),  # noqa: S608  (names are ours)
            {"id": uuid.UUID(file_id), **values},
        )
        connection.execute(_RECOUNT, {"id": uuid.UUID(file_id)})


_RECOUNT = sa.text(
    """
    UPDATE owner_usage SET
      bytes_used = (SELECT COALESCE(SUM(size), 0) FROM files
                    WHERE files.owner_id = owner_usage.owner_id AND status = 'ready'),
      files_used = (SELECT COUNT(*) FROM files
                    WHERE files.owner_id = owner_usage.owner_id AND status = 'ready'),
      bytes_reserved = (SELECT COALESCE(SUM(size), 0) FROM files
                        WHERE files.owner_id = owner_usage.owner_id AND status = 'pending'),
      files_reserved = (SELECT COUNT(*) FROM files
                        WHERE files.owner_id = owner_usage.owner_id AND status = 'pending')
    WHERE owner_id = (SELECT owner_id FROM files WHERE id = :id)
    """
)


def row(engine: sa.Engine, file_id: str) -> Any:
    """The file's row as stored, or None."""
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT * FROM files WHERE id = :id"), {"id": uuid.UUID(file_id)}
        ).first()


def versions(s3: S3Client, bucket: str, key: str) -> list[str]:
    """Every version id and delete marker id stored under exactly `key`, newest first."""
    answer = s3.list_object_versions(Bucket=bucket, Prefix=key)
    entries = [*answer.get("Versions", []), *answer.get("DeleteMarkers", [])]
    entries.sort(key=lambda e: e["LastModified"], reverse=True)
    return [e["VersionId"] for e in entries if e["Key"] == key]


def current_bytes(s3: S3Client, bucket: str, key: str) -> bytes:
    """What a plain GET of `key` returns."""
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
