"""Password sources on a real PostgreSQL: asked once per new connection; IAM auth demands TLS."""

from __future__ import annotations

from collections.abc import Callable

import boto3
import psycopg
import pytest
import sqlalchemy as sa

from backend.db.credentials import use_password_source
from backend.db.engine import create_engine, ping
from backend.errors import DatabaseUnavailable
from backend.settings import ConfigError, Settings
from tests.configuration import settings_from

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


def test_iam_auth_sends_a_signed_token_as_the_password_over_tls(
    make_settings: Callable[..., Settings],
) -> None:
    engine = create_engine(make_settings(database_iam_auth=True), SIGNING_ONLY)
    sent: list[dict[str, object]] = []

    # Registered after the engine's own listener: sees exactly what would go to the server,
    # then connects without TLS only because this local test server has none.
    @sa.event.listens_for(engine, "do_connect")
    def capture(
        _dialect: object, _record: object, _cargs: object, cparams: dict[str, object]
    ) -> object:
        sent.append(dict(cparams))
        return psycopg.connect(**{**cparams, "sslmode": "disable"})

    try:
        ping(engine)
    finally:
        engine.dispose()
    assert sent[0]["sslmode"] == "require"
    token = str(sent[0]["password"])
    assert "Action=connect" in token and "X-Amz-Signature=" in token


@pytest.mark.parametrize("sslmode", ["disable", "allow", "prefer"])
def test_iam_auth_refuses_a_url_that_allows_plaintext(database_url: str, sslmode: str) -> None:
    with pytest.raises(ConfigError, match="sslmode"):
        settings_from(
            database_url=f"{database_url}?sslmode={sslmode}",
            s3_bucket="b",
            database_iam_auth=True,
        )
