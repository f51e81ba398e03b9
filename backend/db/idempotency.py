"""Queries on idempotency keys. Every one is scoped by owner (but the sweeper's); none commits."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from backend.db.tables import IdempotencyKey


def find(
    session: Session, owner_id: uuid.UUID, key: str, *, since: datetime
) -> IdempotencyKey | None:
    """The owner's use of `key` since `since`, if any."""
    query = select(IdempotencyKey).where(
        col(IdempotencyKey.owner_id) == owner_id,
        col(IdempotencyKey.key) == key,
        col(IdempotencyKey.created_at) >= since,
    )
    return session.exec(query).first()


def claim(
    session: Session,
    owner_id: uuid.UUID,
    key: str,
    *,
    digest: str,
    file_id: uuid.UUID,
    now: datetime,
    stale_before: datetime,
) -> bool:
    """Record `key` for `file_id`; False when a live use of the key got there first.

    One statement: concurrent requests with the same key race on the primary key, and a use
    older than `stale_before` is taken over as if it were not there.
    """
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(IdempotencyKey)
    values = {
        "owner_id": owner_id,
        "key": key,
        "request_digest": digest,
        "file_id": file_id,
        "created_at": now,
    }
    statement = insert.values(values).on_conflict_do_update(
        index_elements=["owner_id", "key"],
        set_={name: insert.excluded[name] for name in ("request_digest", "file_id", "created_at")},
        where=col(IdempotencyKey.created_at) < stale_before,
    )
    # RETURNING rather than rowcount, which the driver does not report for this statement.
    return session.execute(statement.returning(col(IdempotencyKey.key))).first() is not None


def forget_before(session: Session, cutoff: datetime, *, limit: int) -> int:
    """Delete up to `limit` uses older than `cutoff`; how many went."""
    doomed = (
        select(IdempotencyKey.owner_id, IdempotencyKey.key)
        .where(col(IdempotencyKey.created_at) < cutoff)
        .limit(limit)
    )
    result = session.execute(
        sa.delete(IdempotencyKey)
        .where(sa.tuple_(col(IdempotencyKey.owner_id), col(IdempotencyKey.key)).in_(doomed))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))
