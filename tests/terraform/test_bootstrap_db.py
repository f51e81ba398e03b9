"""The database-user bootstrap against a real PostgreSQL: instances booting together take turns."""

import importlib.util
import threading
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Any

import psycopg
import pytest
from terraform_config import TERRAFORM_DIR

BOOTS_AT_ONCE = 8


def load_bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bootstrap_db", TERRAFORM_DIR / "templates" / "bootstrap_db.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bootstrap_db = load_bootstrap()


@pytest.fixture
def connect(postgresql: psycopg.Connection[Any]) -> Callable[[], psycopg.Connection[Any]]:
    """New connections to the test database as its (superuser) owner, like RDS's master user."""
    info = postgresql.info
    params = {
        "host": info.host,
        "port": info.port,
        "user": info.user,
        "dbname": info.dbname,
        "password": info.password,
    }
    # RDS has this role; plain PostgreSQL does not.
    postgresql.autocommit = True
    if postgresql.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'").fetchone() is None:
        postgresql.execute("CREATE ROLE rds_iam")
    return lambda: psycopg.connect(**params)


def role_state(conn: psycopg.Connection[Any], user: str) -> tuple[Any, ...] | None:
    return conn.execute(
        """
        SELECT r.rolcanlogin,
               pg_has_role(r.rolname, 'rds_iam', 'MEMBER'),
               has_database_privilege(r.rolname, current_database(), 'CONNECT, TEMPORARY'),
               has_schema_privilege(r.rolname, 'public', 'USAGE, CREATE')
        FROM pg_roles r WHERE r.rolname = %s
        """,
        (user,),
    ).fetchone()


def test_simultaneous_boots_all_succeed_and_create_one_user(
    postgresql: psycopg.Connection[Any], connect: Callable[[], psycopg.Connection[Any]]
) -> None:
    user = f"stowage_app_{uuid.uuid4().hex[:8]}"
    dbname = postgresql.info.dbname
    start = threading.Barrier(BOOTS_AT_ONCE)
    errors: list[BaseException] = []

    def boot() -> None:
        try:
            with connect() as conn:
                start.wait()
                bootstrap_db.create_app_user(conn, dbname=dbname, app_user=user)
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    for _round in range(3):
        threads = [threading.Thread(target=boot) for _ in range(BOOTS_AT_ONCE)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    with connect() as conn:
        assert role_state(conn, user) == (True, True, True, True)
        conn.execute(f'DROP OWNED BY "{user}"')
        conn.execute(f'DROP ROLE "{user}"')
        conn.commit()
