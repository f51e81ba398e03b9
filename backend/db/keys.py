"""Queries on owners and API keys. None commits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.db.tables import ApiKey, Owner


def owner_named(session: Session, name: str) -> Owner | None:
    """The owner with this name, if there is one."""
    return session.exec(select(Owner).where(Owner.name == name)).first()


def key_by_key_id(session: Session, key_id: str) -> ApiKey | None:
    """The key with this public key id."""
    return session.exec(select(ApiKey).where(ApiKey.key_id == key_id)).first()


def key_with_owner(
    session: Session, *, key_id: str | None = None, row_id: uuid.UUID | None = None
) -> tuple[ApiKey, Owner] | None:
    """A key and its owner, found by public key id or by row id."""
    query = select(ApiKey, Owner).join(Owner)
    query = query.where(ApiKey.key_id == key_id) if key_id else query.where(ApiKey.id == row_id)
    found = session.exec(query).first()
    return (found[0], found[1]) if found else None


def keys_with_owners(session: Session) -> list[tuple[ApiKey, Owner]]:
    """Every key with its owner, oldest first."""
    rows = session.exec(select(ApiKey, Owner).join(Owner).order_by(sa.asc(col(ApiKey.created_at))))
    return [(key, owner) for key, owner in rows.all()]


def touch(session: Session, row_id: uuid.UUID, now: datetime, resolution: timedelta) -> None:
    """Record a key's use, unless one was recorded within `resolution` (by any process)."""
    session.execute(
        sa.update(ApiKey)
        .where(
            col(ApiKey.id) == row_id,
            sa.or_(
                col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) <= now - resolution
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
