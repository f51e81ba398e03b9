"""A step of one statement runs outside a transaction, and leaves the pool as it found it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from backend.db.engine import core_transaction, create_engine, single_statement
from backend.db.tables import Owner, table_of, utcnow
from backend.settings import Settings


def _add_owner(connection: sa.Connection, name: str) -> None:
    connection.execute(
        table_of(Owner).insert(), {"id": uuid.uuid4(), "name": name, "created_at": utcnow()}
    )


def _owners(engine: sa.Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(sa.select(table_of(Owner).c.name)))


def test_a_transaction_on_the_same_pooled_connection_still_rolls_back_as_a_whole(
    make_settings: Callable[..., Settings],
) -> None:
    engine = create_engine(make_settings(database_pool_size=1))  # one connection for both
    try:
        with single_statement(engine) as connection:
            _add_owner(connection, "committed-on-its-own")
        with pytest.raises(RuntimeError), core_transaction(engine) as connection:
            _add_owner(connection, "rolled-back")
            raise RuntimeError("the step failed after its first statement")
        assert _owners(engine) == ["committed-on-its-own"]
    finally:
        engine.dispose()
