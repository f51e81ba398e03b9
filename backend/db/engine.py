"""Engine construction and the unit of work: one transaction per request, committed at the edge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Session

from backend.errors import DatabaseUnavailable
from backend.settings import Settings

CONNECT_TIMEOUT_SECONDS = 5


def database_url(raw: str) -> sa.URL:
    """The SQLAlchemy URL for a plain postgresql:// or sqlite:// URL, with the driver chosen."""
    url = make_url(raw)
    if url.drivername in {"postgresql", "postgres", "postgresql+psycopg"}:
        return url.set(drivername="postgresql+psycopg")
    if url.drivername == "sqlite":
        return url
    raise ValueError(f"unsupported database URL scheme {url.drivername!r}")


def create_engine(settings: Settings) -> sa.Engine:
    """An engine with a pool sized for the worker threads and fast failure when unreachable."""
    url = database_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=settings.database_pool_size,
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_timeout=CONNECT_TIMEOUT_SECONDS,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers and one writer overlap.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@contextmanager
def transaction(engine: sa.Engine) -> Iterator[Session]:
    """A session whose work is committed when the block ends and rolled back if it raises.

    Connection failures become DatabaseUnavailable so callers never see driver exceptions.
    """
    try:
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
        raise DatabaseUnavailable("The database is unreachable; try again shortly.") from exc


def ping(engine: sa.Engine) -> None:
    """Run a trivial query, raising DatabaseUnavailable when the database does not answer."""
    with transaction(engine) as session:
        session.execute(sa.text("SELECT 1"))
