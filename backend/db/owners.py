"""Queries on the owners of identity providers' users. None commits."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from backend.db.tables import Owner, utcnow


def owner_id_of_user(session: Session, issuer: str, subject: str) -> uuid.UUID | None:
    """The owner id of the user `subject` at `issuer`, if they have one yet."""
    query = select(Owner.id).where(col(Owner.issuer) == issuer, col(Owner.subject) == subject)
    return session.exec(query).first()


def ensure_user_owner(session: Session, issuer: str, subject: str) -> uuid.UUID:
    """The owner id of the user `subject` at `issuer`, created on first use.

    Concurrent first requests race on the unique (issuer, subject) index: every one inserts
    with ON CONFLICT DO NOTHING, then all read the single row that won.
    """
    found = owner_id_of_user(session, issuer, subject)
    if found is not None:
        return found
    values = {"id": uuid.uuid4(), "issuer": issuer, "subject": subject, "created_at": utcnow()}
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Owner)
    session.execute(
        insert.values(values).on_conflict_do_nothing(index_elements=["issuer", "subject"])
    )
    created = owner_id_of_user(session, issuer, subject)
    if created is None:  # cannot happen: the row is there, ours or the winner's
        raise RuntimeError("the owner row vanished between insert and select")
    return created
