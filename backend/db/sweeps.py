"""Queries for the sweeper and reconcile: across owners, by state and by object key. None commits.

The claims lock the rows they return (FOR UPDATE SKIP LOCKED on PostgreSQL), so sweepers on
several instances take disjoint batches, and a confirm racing a sweeper waits for its verdict.
SQLite has one writer at a time and ignores the clause.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.db.tables import File


def claim_unsettled(
    session: Session, statuses: Sequence[str], *, expired_before: datetime, limit: int
) -> list[File]:
    """Lock up to `limit` files in these states, not yet settled, whose form expired before then.

    ix_files_unsettled serves it. No ORDER BY: any batch will do, and after the migration every
    earlier file is unsettled once, a set no batch should have to sort.
    """
    query = (
        select(File)
        .where(
            col(File.status).in_(statuses),
            col(File.settled_at).is_(None),
            col(File.upload_expires_at) < expired_before,
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.exec(query).all())


def claim_deleting(session: Session, *, since_before: datetime, limit: int) -> list[File]:
    """Lock up to `limit` files whose delete began before then (or before it was recorded)."""
    query = (
        select(File)
        .where(
            col(File.status) == "deleting",
            sa.or_(col(File.deleting_since).is_(None), col(File.deleting_since) < since_before),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.exec(query).all())


def settle(session: Session, file_id: object, when: datetime) -> None:
    """Record that the file's bucket side now matches its row."""
    session.execute(
        sa.update(File)
        .where(col(File.id) == file_id)
        .values(settled_at=when)
        .execution_options(synchronize_session=False)
    )


def keys_with_rows(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of these object keys some file row (in any state) holds."""
    if not keys:
        return set()
    rows = session.exec(select(File.object_key).where(col(File.object_key).in_(keys)))
    return set(rows.all())


def rows_after(session: Session, prefix: str, after: str | None, limit: int) -> list[File]:
    """Up to `limit` files whose keys start with `prefix`, in binary key order, after `after`.

    The key column has the "C" collation on PostgreSQL, so its unique index serves this: the
    keys under a prefix ending in "/" are exactly those from it up to the same prefix ending
    in "0", the next character.
    """
    query = (
        select(File)
        .where(
            col(File.object_key) >= prefix,
            col(File.object_key) < prefix[:-1] + chr(ord(prefix[-1]) + 1),
        )
        .order_by(col(File.object_key))
        .limit(limit)
    )
    if after is not None:
        query = query.where(col(File.object_key) > after)
    return list(session.exec(query).all())
