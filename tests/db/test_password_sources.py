"""Password sources on a real PostgreSQL: asked once per new connection; IAM auth demands TLS."""

from __future__ import annotations

from collections.abc import Callable

import boto3
import pytest
import sqlalchemy as sa

from backend.db.credentials import use_password_source
from backend.db.engine import create_engine, ping
from backend.errors import DatabaseUnavailable
from backend.settings import Settings

SIGNING_ONLY = boto3.session.Session(
    aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="eu-west-1"
)


def test_every_new_connection_asks_the_source_for_its_password(
    make_settings: Callable[..., Settings],
) -> None:
    engine = create_engine(make_settings())
    asked: list[int] = []

    def password() -> str:
        asked.append(1)
        return "pw"

    use_password_source(engine, password)
    try:
        first, second = engine.connect(), engine.connect()
        first.close()
        second.close()
        with engine.connect():  # reuses a pooled connection: no new password needed
            pass
    finally:
        engine.dispose()
    assert len(asked) == 2


def test_iam_auth_refuses_to_connect_without_tls(make_settings: Callable[..., Settings]) -> None:
    # The local test server has no TLS, so a connection that insists on it must fail.
    engine = create_engine(make_settings(database_iam_auth=True), SIGNING_ONLY)
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            ping(engine)
    finally:
        engine.dispose()
    assert "SSL" in str(caught.value.__cause__)


def test_iam_auth_sends_a_signed_token_as_the_password(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    # sslmode in the URL is the operator's to set (e.g. verify-full); disable it only here.
    settings = make_settings(database_url=database_url + "?sslmode=disable", database_iam_auth=True)
    engine = create_engine(settings, SIGNING_ONLY)
    seen: list[str] = []
    sa.event.listen(engine, "connect", lambda conn, _record: seen.append(conn.info.password))
    try:
        ping(engine)
    finally:
        engine.dispose()
    assert seen and "Action=connect" in seen[0] and "X-Amz-Signature=" in seen[0]
