"""Queries on the files table. Every one is scoped by owner; none commits."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.db import usage
from backend.db.engine import dialect_name
from backend.db.tables import File, OwnerUsage, UploadPart, record_of, table_of


def get(session: Session, owner_id: uuid.UUID, file_id: uuid.UUID) -> File | None:
    """The owner's file with this id, or None (another owner's file is None too)."""
    return session.exec(select(File).where(File.id == file_id, File.owner_id == owner_id)).first()


@functools.cache
def _read_statement() -> sa.Select[Any]:
    """The owner's file by id, on the table: built and compiled once."""
    table = table_of(File)
    return sa.select(table).where(
        table.c.id == sa.bindparam("file_id"), table.c.owner_id == sa.bindparam("owner")
    )


def read(executor: Session | sa.Connection, owner_id: uuid.UUID, file_id: uuid.UUID) -> File | None:
    """Like `get`, without the ORM: a File that belongs to no session, for reading only.

    A fraction of the CPU of `get`; never `session.add` what it returns (see `record_of`).
    """
    row = executor.execute(_read_statement(), {"file_id": file_id, "owner": owner_id}).first()
    return None if row is None else record_of(File, row._asdict())


class ListedFile(NamedTuple):
    """A file as a listing shows it: the columns the answer needs, without an ORM object."""

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str | None
    status: str
    created_at: datetime
    confirmed_at: datetime | None
    part_size: int | None
    integrity: str | None
    composite_sha256: str | None


def insert(executor: Session | sa.Connection, file: File) -> None:
    """Add a new file's row in one INSERT (nothing else in the session changes with it).

    A Core INSERT on the table with the values as parameters: one statement for every row,
    compiled once, where the ORM's unit of work (or values inlined in the statement) would
    rebuild and re-key it on every call.
    """
    executor.execute(table_of(File).insert(), _row_values(file))


def _row_values(file: File, prefix: str = "") -> dict[str, Any]:
    """The file's value for every column, by column name (with `prefix`)."""
    return {prefix + column.key: getattr(file, column.key) for column in table_of(File).columns}


@functools.cache
def _insert_reserving_statement() -> sa.Insert:
    """WITH reserved AS (the reservation's UPDATE) INSERT the row only if it reserved."""
    table = table_of(File)
    counters = table_of(OwnerUsage)
    reserved = usage.reserve_statement().returning(counters.c.owner_id).cte("reserved")
    row = sa.select(
        *(sa.bindparam(f"new_{column.key}", type_=column.type) for column in table.columns)
    ).where(sa.exists(reserved.select()))
    return (
        table.insert()
        .from_select([c.key for c in table.columns], row)
        .add_cte(reserved)
        .returning(table.c.id)
    )


def insert_reserving(
    connection: sa.Connection,
    file: File,
    *,
    default_bytes: int | None,
    default_files: int | None,
) -> bool:
    """Reserve quota for the file and insert its row in one statement (one round trip), or do
    neither and answer False: the owner has no counters yet, or no room, or the database is
    not PostgreSQL (the statement is a data-modifying WITH).

    The reservation is the same conditional UPDATE as `usage.reserve`, so concurrent
    announcements cannot overshoot here either.
    """
    if connection.dialect.name != "postgresql":
        return False
    parameters = usage.reserve_parameters(
        file.owner_id, file.size, default_bytes=default_bytes, default_files=default_files
    )
    parameters.update(_row_values(file, prefix="new_"))
    return connection.execute(_insert_reserving_statement(), parameters).first() is not None


@functools.cache
def _page_statement(keyset: bool, search: bool) -> sa.Select[Any]:
    """The listing's statement, in one of its four shapes, built and compiled once.

    Newest first, keyset on (created_at, id); ix_files_owner_status_created serves it, and
    the trigram index a search.
    """
    table = table_of(File)
    query = sa.select(*(table.c[name] for name in ListedFile._fields)).where(
        table.c.owner_id == sa.bindparam("owner"), table.c.status == sa.bindparam("status")
    )
    if keyset:
        after = sa.tuple_(
            sa.bindparam("after_created_at", type_=table.c.created_at.type),
            sa.bindparam("after_id", type_=table.c.id.type),
        )
        query = query.where(sa.tuple_(table.c.created_at, table.c.id) < after)
    if search:
        query = query.where(table.c.search_name.like(sa.bindparam("pattern"), escape="\\"))
    return query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(
        sa.bindparam("page_size", type_=sa.Integer())
    )


def page_query(
    owner_id: uuid.UUID,
    *,
    status: str,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    name_contains: str | None,
) -> tuple[sa.Select[Any], dict[str, Any]]:
    """The statement for one page of the owner's files, and its parameters."""
    parameters: dict[str, Any] = {"owner": owner_id, "status": status, "page_size": limit}
    if after is not None:
        parameters["after_created_at"], parameters["after_id"] = after
    if name_contains:
        folded = name_contains.casefold()
        escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        parameters["pattern"] = f"%{escaped}%"
    return _page_statement(after is not None, bool(name_contains)), parameters


def page(
    executor: Session | sa.Connection, owner_id: uuid.UUID, **criteria: Any
) -> list[ListedFile]:
    """One page of the owner's files (see `page_query`), as plain rows: no ORM objects."""
    statement, parameters = page_query(owner_id, **criteria)
    # all() fetches the page in one go; iterating the result would fetch row by row.
    return [ListedFile._make(row) for row in executor.execute(statement, parameters).all()]


def transition(
    executor: Session | sa.Connection,
    owner_id: uuid.UUID,
    file_id: uuid.UUID,
    *,
    from_status: str,
    values: dict[str, Any],
) -> File | None:
    """Move a file out of `from_status`: the file as moved, or None when someone else moved it
    first (or it is gone).

    The status test is in the UPDATE itself, so of two concurrent confirms exactly one wins.
    The owner's quota counters follow the move in the same statement on PostgreSQL (a
    data-modifying WITH), in the same transaction on SQLite, and only when it happened, so a
    file is counted once whichever path decides it. On SQLite, call it in a transaction
    (`one_step` gives one), never on a `single_statement` connection. Every value is sent as a
    bound parameter: plain values only, no SQL expressions.
    """
    to_status = str(values.get("status", from_status))
    statements = _transition_statements(
        dialect_name(executor), from_status, to_status, tuple(sorted(values))
    )
    parameters = {f"new_{name}": value for name, value in values.items()}
    parameters.update(file_id=file_id, owner=owner_id, from_status=from_status)
    moved = executor.execute(statements[0], parameters).first()
    if moved is None:
        return None
    if len(statements) > 1:
        executor.execute(statements[1], {"owner": owner_id, "size": moved.size})
    return record_of(File, moved._asdict())


@functools.cache
def _transition_statements(
    dialect: str, from_status: str, to_status: str, columns: tuple[str, ...]
) -> tuple[sa.Executable, ...]:
    """`transition`'s statements for one kind of move, built and compiled once: on PostgreSQL
    one (the UPDATE, the counters' UPDATE in a WITH); elsewhere the UPDATE, then the counters'.

    Every value is a bound parameter named `new_<column>`; the counters' UPDATE takes `owner`
    and `size` when it runs on its own.
    """
    table = table_of(File)
    moved = (
        table.update()
        .where(
            table.c.id == sa.bindparam("file_id"),
            table.c.owner_id == sa.bindparam("owner"),
            table.c.status == sa.bindparam("from_status"),
        )
        .values({name: sa.bindparam(f"new_{name}", type_=table.c[name].type) for name in columns})
        .returning(*table.c)
    )
    counters = table_of(OwnerUsage)
    if dialect != "postgresql":
        size = sa.bindparam("size", type_=sa.BigInteger)
        shift = usage.shift_statement(counters.c.owner_id == sa.bindparam("owner"), size,
                                      from_status=from_status, to_status=to_status)  # fmt: skip
        return (moved,) if shift is None else (moved, shift)
    step = moved.cte("moved")
    shift = usage.shift_statement(counters.c.owner_id == step.c.owner_id, step.c.size,
                                  from_status=from_status, to_status=to_status)  # fmt: skip
    both = sa.select(step)
    return (both,) if shift is None else (both.add_cte(shift.cte("counted")),)


def delete(session: Session, owner_id: uuid.UUID, file_id: uuid.UUID) -> bool:
    """Remove the row (and any part checksums); False when it was already gone."""
    session.execute(
        sa.delete(UploadPart)
        .where(col(UploadPart.file_id) == file_id)
        .where(sa.exists().where(col(File.id) == file_id, col(File.owner_id) == owner_id))
        .execution_options(synchronize_session=False)
    )
    result = session.execute(
        sa.delete(File)
        .where(col(File.id) == file_id, col(File.owner_id) == owner_id)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)
