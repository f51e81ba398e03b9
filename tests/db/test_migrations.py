"""Migrations build exactly the schema the tables describe, on PostgreSQL and on SQLite."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from backend.db import migrate
from backend.db.engine import create_engine
from tests.configuration import settings_from


def _differences(engine: sa.Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def test_migrated_postgresql_schema_matches_the_tables(engine: sa.Engine) -> None:
    assert _differences(engine) == []


def test_migrations_run_down_and_up_again_on_postgresql(engine: sa.Engine) -> None:
    migrate.downgrade(engine, "base")
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]
    migrate.upgrade(engine)
    assert {"owners", "api_keys", "files"} <= set(sa.inspect(engine).get_table_names())


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    settings = settings_from(database_url=f"sqlite:///{tmp_path / 'stowage.db'}", s3_bucket="b")
    engine = create_engine(settings)
    yield engine
    engine.dispose()


def test_the_same_migrations_build_the_same_schema_on_sqlite(sqlite_engine: sa.Engine) -> None:
    migrate.upgrade(sqlite_engine)
    assert _differences(sqlite_engine) == []
    migrate.downgrade(sqlite_engine, "base")
    migrate.upgrade(sqlite_engine)


def test_an_upgrade_waits_while_another_process_holds_the_migration_lock(
    engine: sa.Engine,
) -> None:
    migrate.downgrade(engine, "base")
    finished = threading.Event()

    def upgrade() -> None:
        migrate.upgrade(engine)
        finished.set()

    with migrate.migration_lock(engine):  # as another instance booting at the same time
        worker = threading.Thread(target=upgrade)
        worker.start()
        assert not finished.wait(timeout=1.0)
    worker.join(timeout=30)
    assert finished.is_set()
    assert _differences(engine) == []


def test_upgrading_sqlite_with_keys_and_files_keeps_them(sqlite_engine: sa.Engine) -> None:
    # Giving owners their identity columns rebuilds the table on SQLite, under the foreign
    # keys api_keys and files hold on it.
    migrate.upgrade(sqlite_engine, "0001")
    with sqlite_engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO owners VALUES ('00000000000000000000000000000001', 'alice', :t)"),
            {"t": "2026-01-01 00:00:00"},
        )
        connection.execute(
            sa.text(
                "INSERT INTO api_keys VALUES ('00000000000000000000000000000002',"
                " '00000000000000000000000000000001', 'abcdefghijklmnop', :h, :t, NULL)"
            ),
            {"h": "0" * 64, "t": "2026-01-01 00:00:00"},
        )

    migrate.upgrade(sqlite_engine)

    with sqlite_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT name FROM owners")).scalars().all() == ["alice"]
        assert connection.execute(sa.text("SELECT count(*) FROM api_keys")).scalar() == 1
        assert connection.execute(sa.text("PRAGMA foreign_key_check")).all() == []
        assert connection.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
    assert _differences(sqlite_engine) == []


def test_the_limits_migration_counts_what_existing_owners_hold(engine: sa.Engine) -> None:
    migrate.downgrade(engine, "0004")
    owner, other = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for owner_id, name in ((owner, "acme"), (other, "idle")):
            connection.execute(
                sa.text("INSERT INTO owners (id, name, created_at) VALUES (:id, :name, :now)"),
                {"id": owner_id, "name": name, "now": now},
            )
        for size, status in ((5, "ready"), (7, "ready"), (11, "pending"), (13, "rejected")):
            connection.execute(
                sa.text(
                    "INSERT INTO files (id, owner_id, object_key, filename, search_name,"
                    " content_type, size, status, created_at, upload_expires_at) VALUES"
                    " (:id, :owner, :key, 'a', 'a', 'text/plain', :size, :status, :now, :now)"
                ),
                {"id": uuid.uuid4(), "owner": owner, "key": f"k/{size}", "size": size,
                 "status": status, "now": now},
            )  # fmt: skip
    migrate.upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT owner_id, bytes_used, files_used, bytes_reserved, files_reserved"
                " FROM owner_usage"
            )
        ).all()
    assert sorted(tuple(r) for r in rows) == sorted([(owner, 12, 2, 11, 1), (other, 0, 0, 0, 0)])
