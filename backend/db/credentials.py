"""Database passwords that are never written down: IAM auth tokens and Secrets Manager secrets.

Both are fetched when the pool opens a new connection, so rotated secrets and 15-minute
tokens keep working for the life of the process.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from botocore.exceptions import BotoCoreError, ClientError

from backend.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

PasswordSource = Callable[[], str]


class IamAuthToken:
    """A fresh RDS IAM auth token per connection, signed with the instance role.

    Tokens are valid for 15 minutes and only to open a connection, which is all they are used for.
    """

    def __init__(self, client: RDSClient, *, host: str, port: int, user: str) -> None:
        self.client = client
        self.host = host
        self.port = port
        self.user = user

    def __call__(self) -> str:
        try:
            return self.client.generate_db_auth_token(
                DBHostname=self.host, Port=self.port, DBUsername=self.user
            )
        except BotoCoreError as exc:  # no role credentials to sign with
            raise DatabaseUnavailable("Cannot sign a database auth token.") from exc


class SecretPassword:
    """The password from a Secrets Manager secret, re-read every `ttl` seconds for rotation.

    Accepts RDS-managed secrets (JSON with a "password" key) and plain-string secrets.
    """

    def __init__(
        self,
        client: SecretsManagerClient,
        secret_id: str,
        *,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.secret_id = secret_id
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, str] | None = None

    def __call__(self) -> str:
        with self._lock:
            now = self.clock()
            if self._cached is None or now - self._cached[0] >= self.ttl:
                self._cached = (now, self._fetch())
            return self._cached[1]

    def _fetch(self) -> str:
        try:
            secret = self.client.get_secret_value(SecretId=self.secret_id)["SecretString"]
        except (BotoCoreError, ClientError, KeyError) as exc:
            raise DatabaseUnavailable("Cannot read the database password secret.") from exc
        try:
            document = json.loads(secret)
        except json.JSONDecodeError:
            return secret
        password = document.get("password") if isinstance(document, dict) else None
        if isinstance(password, str):
            return password
        raise DatabaseUnavailable("The database secret has no password field.")


def use_password_source(engine: sa.Engine, source: PasswordSource) -> None:
    """Give every new connection of `engine` the password `source` returns at that moment."""

    def provide(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["password"] = source()

    sa.event.listen(engine, "do_connect", provide)
