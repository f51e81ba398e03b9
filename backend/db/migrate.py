"""Apply Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from backend.errors import DatabaseUnavailable

# Any fixed number: every process that migrates this database agrees on it.
MIGRATION_LOCK_ID = 7_240_511_001


def alembic_config(engine: sa.Engine) -> Config:
    """An Alembic config pointing at the packaged migrations and running on `engine`."""
    config = _packaged_config()
    config.attributes["engine"] = engine
    return config


def _packaged_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "backend:migrations")
    return config


@contextmanager
def migration_lock(engine: sa.Engine) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock so instances booting together migrate one at a time."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        try:
            yield
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})


@functools.cache
def head_revision() -> str | None:
    """The newest revision the packaged migrations define."""
    return ScriptDirectory.from_config(_packaged_config()).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_state(engine: sa.Engine) -> str:
    """ "ok" when the database answers at the revision this code expects, else what is wrong.

    Raises DatabaseUnavailable when the database does not answer at all.
    """
    try:
        current = current_revision(engine)
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseUnavailable("The database is unreachable; try again shortly.") from exc
    expected = head_revision()
    if current != expected:
        return f"schema at {current or 'nothing'}, expected {expected}: run `db upgrade`"
    return "ok"


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database schema up to `revision`."""
    with migration_lock(engine):
        command.upgrade(alembic_config(engine), revision)
    _forget_sqlite_connections(engine)


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Take the database schema back to `revision`."""
    with migration_lock(engine):
        command.downgrade(alembic_config(engine), revision)
    _forget_sqlite_connections(engine)


def _forget_sqlite_connections(engine: sa.Engine) -> None:
    # A migration that rebuilds a table turns SQLite's foreign keys off for it, and SQLite
    # ignores turning them back on inside the migration's transaction: pooled connections are
    # dropped so every later one starts with the engine's pragmas again.
    if engine.dialect.name == "sqlite":
        engine.dispose()
