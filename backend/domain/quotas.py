"""Quotas: how many bytes and files an owner may hold, reserved when an upload is announced.

An announcement reserves its size and one file in the same transaction that records the
pending file; confirm turns the reservation into usage, and rejection, expiry and deletion
give it back (backend.db.files.transition moves the counters with every status change).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from backend.db import files, usage
from backend.db import keys as key_queries
from backend.db.engine import core_transaction, single_statement, transaction
from backend.db.tables import File, Owner, OwnerUsage
from backend.errors import InvalidInput, NotFound, QuotaExceeded
from backend.settings import LimitsSettings
from backend.sizes import format_size


@dataclass(frozen=True)
class Quota:
    """An owner's figures: what their files hold and what they may hold (None: unlimited)."""

    owner_id: uuid.UUID
    bytes_used: int
    files_used: int
    bytes_reserved: int
    files_reserved: int
    bytes_limit: int | None
    files_limit: int | None
    # Whether each limit is the owner's own (`quota set`) rather than the default.
    bytes_limit_overridden: bool
    files_limit_overridden: bool

    @property
    def bytes_left(self) -> int | None:
        """Bytes another upload may still reserve."""
        if self.bytes_limit is None:
            return None
        return max(0, self.bytes_limit - self.bytes_used - self.bytes_reserved)

    @property
    def files_left(self) -> int | None:
        """Files that may still be announced."""
        if self.files_limit is None:
            return None
        return max(0, self.files_limit - self.files_used - self.files_reserved)


def quota_of(owner_id: uuid.UUID, row: OwnerUsage | None, limits: LimitsSettings) -> Quota:
    """The owner's figures from their counters row (all zero without one) and the defaults."""
    row = row or OwnerUsage(owner_id=owner_id)
    return Quota(
        owner_id=owner_id,
        bytes_used=row.bytes_used,
        files_used=row.files_used,
        bytes_reserved=row.bytes_reserved,
        files_reserved=row.files_reserved,
        bytes_limit=row.bytes_limit if row.bytes_limit is not None else limits.quota_bytes,
        files_limit=row.files_limit if row.files_limit is not None else limits.quota_files,
        bytes_limit_overridden=row.bytes_limit is not None,
        files_limit_overridden=row.files_limit is not None,
    )


def reserve(
    executor: Session | sa.Connection, owner_id: uuid.UUID, size: int, limits: LimitsSettings
) -> None:
    """Reserve room for one file of `size` bytes in the caller's transaction, or QuotaExceeded."""
    defaults = {"default_bytes": limits.quota_bytes, "default_files": limits.quota_files}
    if usage.reserve(executor, owner_id, size, **defaults):
        return
    # An owner without counters yet (made before they existed, or just now): give them some.
    usage.ensure(executor, owner_id)
    if usage.reserve(executor, owner_id, size, **defaults):
        return
    quota = quota_of(owner_id, usage.read(executor, owner_id), limits)
    raise QuotaExceeded(
        _refusal(quota, size), bytes_left=quota.bytes_left, files_left=quota.files_left
    )


def record_reserving(engine: sa.Engine, file: File, limits: LimitsSettings) -> None:
    """Insert a new file's row with room reserved for it, or raise QuotaExceeded: the
    reservation and the row commit together, or neither does.

    On PostgreSQL one statement does both when the owner has room, atomic on its own (no
    BEGIN and COMMIT round trips); otherwise (no counters yet, no room, SQLite) a transaction
    of two does, the first of which says why when there is no room.
    """
    defaults = {"default_bytes": limits.quota_bytes, "default_files": limits.quota_files}
    if engine.dialect.name == "postgresql":
        with single_statement(engine) as connection:
            if files.insert_reserving(connection, file, **defaults):
                return
    with core_transaction(engine) as connection:
        reserve(connection, file.owner_id, file.size, limits)
        files.insert(connection, file)


def _refusal(quota: Quota, size: int) -> str:
    """Why an upload of `size` bytes does not fit, and what is left."""
    if quota.files_left is not None and quota.files_left < 1:
        return (
            f"The quota of {quota.files_limit} files is used up ({quota.files_used} stored, "
            f"{quota.files_reserved} uploading); delete files or ask for a larger quota."
        )
    left = quota.bytes_left or 0
    return (
        f"This upload of {format_size(size)} does not fit: {format_size(left)} of the "
        f"{format_size(quota.bytes_limit or 0)} quota left ({format_size(quota.bytes_used)} "
        f"stored, {format_size(quota.bytes_reserved)} reserved by uploads in progress)."
    )


class QuotaService:
    """Reading and setting owners' quotas (GET /me and `python -m backend quota`)."""

    def __init__(self, engine: sa.Engine, limits: LimitsSettings) -> None:
        self.engine = engine
        self.limits = limits

    def show(self, owner_id: uuid.UUID) -> Quota:
        """The owner's figures now."""
        with transaction(self.engine) as session:
            return quota_of(owner_id, usage.read(session, owner_id), self.limits)

    def find_owner(self, owner: str) -> uuid.UUID:
        """An owner by the name their keys were created with, or by owner id (token users)."""
        with transaction(self.engine) as session:
            named = key_queries.owner_named(session, owner)
            if named is not None:
                return named.id
            try:
                owner_id = uuid.UUID(owner)
            except ValueError:
                raise NotFound(f"No owner is named {owner!r}.") from None
            if session.get(Owner, owner_id) is None:
                raise NotFound(f"No owner has the id {owner}.")
        return owner_id

    def set_limits(
        self,
        owner_id: uuid.UUID,
        *,
        bytes_limit: int | None = None,
        files_limit: int | None = None,
        reset_bytes: bool = False,
        reset_files: bool = False,
    ) -> Quota:
        """Override the owner's limits (or go back to the defaults); usage is left as it is."""
        for field, value in (("bytes", bytes_limit), ("files", files_limit)):
            if value is not None and value < 0:
                raise InvalidInput(field, "must not be negative")
        with transaction(self.engine) as session:
            usage.set_limits(
                session, owner_id, bytes_limit=bytes_limit, files_limit=files_limit,
                clear_bytes=reset_bytes, clear_files=reset_files,
            )  # fmt: skip
            return quota_of(owner_id, usage.read(session, owner_id), self.limits)
