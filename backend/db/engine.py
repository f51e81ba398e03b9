"""The engine (with RDS IAM or Secrets Manager passwords) and the helpers that commit.

Services open a short transaction per step, never one per request: no connection is held
while S3 answers. `transaction` gives an ORM session; `core_transaction` a plain connection,
for the hot paths; `single_statement` one statement without a transaction around it; and
`one_step` whichever of the last two a step needs on this database.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Session

from backend.db.credentials import IamAuthToken, SecretPassword, use_password_source
from backend.errors import DatabaseUnavailable
from backend.settings import Settings

CONNECT_TIMEOUT_SECONDS = 5
POOL_RECYCLE_SECONDS = 1800


def pool_size(settings: Settings) -> int:
    """Connections one process keeps: DATABASE_POOL_SIZE, or one per worker thread."""
    return settings.database.pool_size or settings.server.worker_threads


def database_url(raw: str) -> sa.URL:
    """The SQLAlchemy URL for a plain postgresql:// or sqlite:// URL, with the driver chosen."""
    url = make_url(raw)
    if url.drivername in {"postgresql", "postgres", "postgresql+psycopg"}:
        return url.set(drivername="postgresql+psycopg")
    if url.drivername == "sqlite":
        return url
    raise ValueError(f"unsupported database URL scheme {url.drivername!r}")


def create_engine(
    settings: Settings, boto_session: boto3.session.Session | None = None
) -> sa.Engine:
    """An engine with a pool sized for the worker threads and fast failure when unreachable.

    With IAM auth or a password secret, each new connection fetches its password then.
    """
    url = database_url(settings.database.url)
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size(settings),
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    if settings.database.iam_auth and "sslmode" not in url.query:
        connect_args["sslmode"] = "require"  # tokens must never cross the network in clear
    engine = sa.create_engine(
        url,
        # A worker thread holds at most one connection at a time, so WORKER_THREADS of them
        # are never short of one; each is opened on first need and then kept, never closed on
        # return (a smaller pool that closes its overflow reconnects on every burst).
        pool_size=pool_size(settings),
        max_overflow=0,
        pool_timeout=CONNECT_TIMEOUT_SECONDS,
        # Instead of a SELECT 1 round trip per checkout (pre-ping): a connection the server has
        # closed (restart, failover, idle timeout, pg_terminate_backend) is seen at checkout
        # without asking it, and none lives long enough to meet a silent middlebox timeout.
        pool_recycle=POOL_RECYCLE_SECONDS,
        connect_args=connect_args,
    )
    sa.event.listen(engine, "checkout", _drop_if_closed_by_server)
    if settings.database.iam_auth:
        rds = (boto_session or boto3.session.Session()).client(
            "rds", region_name=settings.storage.region
        )
        token = IamAuthToken(
            rds, host=url.host or "", port=url.port or 5432, user=url.username or ""
        )
        use_password_source(engine, token)
    elif settings.database.password_secret_arn:
        secrets = (boto_session or boto3.session.Session()).client(
            "secretsmanager", region_name=settings.storage.region
        )
        use_password_source(engine, SecretPassword(secrets, settings.database.password_secret_arn))
    return engine


def _drop_if_closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection the server has hung up on; the pool then opens a new one.

    An idle connection has nothing to read: the server sends something only when it ends the
    session (an error notice, then end of file). One poll() of the socket sees that at no
    cost, where pre-ping pays a round trip for every request.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise sa.exc.DisconnectionError("the connection is closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise sa.exc.DisconnectionError("the server closed the connection")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers and one writer overlap.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@contextmanager
def _unreachable_is_unavailable() -> Iterator[None]:
    """Connection failures become DatabaseUnavailable so callers never see driver exceptions."""
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
        raise DatabaseUnavailable("The database is unreachable; try again shortly.") from exc


@contextmanager
def transaction(engine: sa.Engine) -> Iterator[Session]:
    """A session whose work is committed when the block ends and rolled back if it raises.

    Connection failures become DatabaseUnavailable so callers never see driver exceptions.
    """
    with _unreachable_is_unavailable(), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def core_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """Like `transaction`, on a plain connection: for the hot paths, which read and write rows,
    not ORM objects.

    An ORM session costs about as much CPU again as the statements it runs; a step that only
    executes statements (confirm's decision, an announcement's fallback) does without. A
    step of one statement needs no transaction at all: see `single_statement`.
    """
    with _unreachable_is_unavailable(), engine.begin() as connection:
        yield connection


@contextmanager
def single_statement(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection for a step that runs one statement and nothing else, outside a transaction.

    One statement is atomic and sees one snapshot on its own; without BEGIN and COMMIT around
    it, it costs one round trip instead of three (and about 0.15 ms less CPU). A second
    statement on it would be a transaction of its own: use `core_transaction` for that.
    """
    with _unreachable_is_unavailable(), engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


def dialect_name(executor: Session | sa.Connection) -> str:
    """The name of the database a session or connection talks to ("postgresql", "sqlite")."""
    bind = executor if isinstance(executor, sa.Connection) else executor.get_bind()
    return bind.dialect.name


@contextmanager
def one_step(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection for a step that PostgreSQL runs as one statement (a data-modifying WITH)
    and other databases as several: `single_statement` on PostgreSQL, `core_transaction`
    elsewhere. Statements after the first each stand alone on PostgreSQL."""
    if engine.dialect.name == "postgresql":
        with single_statement(engine) as connection:
            yield connection
    else:
        with core_transaction(engine) as connection:
            yield connection


def ping(engine: sa.Engine) -> None:
    """Run a trivial query, raising DatabaseUnavailable when the database does not answer."""
    with transaction(engine) as session:
        session.execute(sa.text("SELECT 1"))
