"""Queries on the owners' quota counters. None commits: each runs in its caller's transaction.

Pending files count as reserved and ready files as used. Every change to a file's status and
to its counters happens in one transaction, and each counter change is a single UPDATE on the
owner's row, so concurrent requests queue on that row and the counters stay exact.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from backend.db.engine import dialect_name
from backend.db.tables import File, Owner, OwnerUsage, table_of

# Which counters a file in each status is counted in; other statuses count nothing.
_COUNTED = {"pending": ("bytes_reserved", "files_reserved"), "ready": ("bytes_used", "files_used")}


@dataclass(frozen=True)
class Counts:
    """What an owner's files hold, by the counters' rule."""

    bytes_used: int
    files_used: int
    bytes_reserved: int
    files_reserved: int


def ensure(executor: Session | sa.Connection, owner_id: uuid.UUID) -> None:
    """Create the owner's counters (all zero) unless they exist; safe to race."""
    postgres = dialect_name(executor) == "postgresql"
    insert = (postgresql.insert if postgres else sqlite.insert)(OwnerUsage)
    executor.execute(
        insert.values(owner_id=owner_id).on_conflict_do_nothing(index_elements=["owner_id"])
    )


def read(
    executor: Session | sa.Connection, owner_id: uuid.UUID, *, lock: bool = False
) -> OwnerUsage | None:
    """The owner's counters and limits as they are now (locked until the transaction ends,
    when asked), in a session or on a plain connection; a row no session tracks."""
    table = table_of(OwnerUsage)
    query = sa.select(table).where(table.c.owner_id == owner_id)
    if lock:
        query = query.with_for_update()
    row = executor.execute(query).first()
    return None if row is None else OwnerUsage(**row._mapping)


def _within(used: Any, limit_column: Any, default: str, amount: Any) -> sa.ColumnElement[bool]:
    """used + amount fits under the owner's limit, or under the default when the owner has none.

    `default` names a bound parameter: NULL (no default) or a number.
    """
    limit = sa.func.coalesce(limit_column, sa.bindparam(default, type_=sa.BigInteger))
    return sa.or_(limit.is_(None), used + amount <= limit)


@functools.cache
def reserve_statement() -> sa.Update:
    """The reservation's UPDATE, with every value a bound parameter: built and compiled once."""
    table = table_of(OwnerUsage)
    row = table.c
    size = sa.bindparam("size", type_=sa.BigInteger)
    return (
        table.update()
        .where(
            row.owner_id == sa.bindparam("owner"),
            _within(row.bytes_used + row.bytes_reserved, row.bytes_limit, "default_bytes", size),
            _within(row.files_used + row.files_reserved, row.files_limit, "default_files", 1),
        )
        .values(bytes_reserved=row.bytes_reserved + size, files_reserved=row.files_reserved + 1)
    )


def reserve_parameters(
    owner_id: uuid.UUID, size: int, *, default_bytes: int | None, default_files: int | None
) -> dict[str, Any]:
    """The values `reserve_statement` takes."""
    return {
        "owner": owner_id,
        "size": size,
        "default_bytes": default_bytes,
        "default_files": default_files,
    }


def reserve(
    executor: Session | sa.Connection,
    owner_id: uuid.UUID,
    size: int,
    *,
    default_bytes: int | None,
    default_files: int | None,
) -> bool:
    """Reserve `size` bytes and one file if both fit under the limits; False when they do not.

    The check is the UPDATE's own WHERE clause: PostgreSQL re-evaluates it on the row as the
    previous writer committed it, so concurrent reservations can never overshoot together.
    """
    result = executor.execute(
        reserve_statement(),
        reserve_parameters(
            owner_id, size, default_bytes=default_bytes, default_files=default_files
        ),
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def shift_statement(
    which: sa.ColumnElement[bool], size: Any, *, from_status: str, to_status: str
) -> sa.Update | None:
    """The UPDATE that moves one file of `size` (a value or an expression) between the
    counters of the owner `which` selects; None when neither status is counted."""
    table = table_of(OwnerUsage)
    counters = table.c
    values: dict[str, sa.ColumnElement[int]] = {}
    if from_status in _COUNTED:
        bytes_name, files_name = _COUNTED[from_status]
        values[bytes_name] = _less(getattr(counters, bytes_name), size)
        values[files_name] = _less(getattr(counters, files_name), 1)
    if to_status in _COUNTED:
        bytes_name, files_name = _COUNTED[to_status]
        values[bytes_name] = values.get(bytes_name, getattr(counters, bytes_name)) + size
        values[files_name] = values.get(files_name, getattr(counters, files_name)) + 1
    if not values:
        return None
    return table.update().where(which).values(**values)


def _less(counter: Any, amount: Any) -> sa.ColumnElement[int]:
    """counter - amount, never below zero: counters a hand-edited row made drift must not stop
    files from being released (reconcile reports and repairs the drift)."""
    return sa.case((counter < amount, 0), else_=counter - amount)


def set_limits(
    session: Session,
    owner_id: uuid.UUID,
    *,
    bytes_limit: int | None,
    files_limit: int | None,
    clear_bytes: bool = False,
    clear_files: bool = False,
) -> None:
    """Override the owner's limits: a given value replaces the override, `clear_*` removes it."""
    ensure(session, owner_id)
    values: dict[str, int | None] = {}
    if bytes_limit is not None or clear_bytes:
        values["bytes_limit"] = bytes_limit
    if files_limit is not None or clear_files:
        values["files_limit"] = files_limit
    if values:
        session.execute(
            sa.update(OwnerUsage)
            .where(col(OwnerUsage.owner_id) == owner_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def count_files(session: Session, owner_id: uuid.UUID) -> Counts:
    """What the owner's files hold now, summed from the files table (for reconcile)."""
    size = col(File.size)
    status = col(File.status)
    row = session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(sa.case((status == "ready", size))), 0),
            sa.func.count(sa.case((status == "ready", 1))),
            sa.func.coalesce(sa.func.sum(sa.case((status == "pending", size))), 0),
            sa.func.count(sa.case((status == "pending", 1))),
        ).where(col(File.owner_id) == owner_id)
    ).one()
    return Counts(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def owner_ids(session: Session) -> list[uuid.UUID]:
    """Every owner, whether they have counters yet or not."""
    return list(session.exec(select(Owner.id).order_by(col(Owner.id))).all())


def counts_of(usage: OwnerUsage) -> Counts:
    """The counters of a usage row."""
    return Counts(usage.bytes_used, usage.files_used, usage.bytes_reserved, usage.files_reserved)


def overwrite(session: Session, owner_id: uuid.UUID, counts: Counts) -> None:
    """Set the counters to these figures (reconcile --fix)."""
    session.execute(
        sa.update(OwnerUsage)
        .where(col(OwnerUsage.owner_id) == owner_id)
        .values(
            bytes_used=counts.bytes_used,
            files_used=counts.files_used,
            bytes_reserved=counts.bytes_reserved,
            files_reserved=counts.files_reserved,
        )
        .execution_options(synchronize_session=False)
    )
