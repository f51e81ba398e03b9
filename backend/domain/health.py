"""Readiness: whether the database and the bucket answer the way this code needs."""

from __future__ import annotations

import sqlalchemy as sa

from backend.db import migrate
from backend.errors import Unavailable
from backend.storage import Storage


class HealthService:
    """Checks the two systems every request depends on."""

    def __init__(self, engine: sa.Engine, storage: Storage, key_prefix: str) -> None:
        self.engine = engine
        self.storage = storage
        self.key_prefix = key_prefix

    def checks(self) -> dict[str, str]:
        """ "ok" or what is wrong, for the database (schema included) and the bucket."""
        checks = {}
        try:
            checks["database"] = migrate.schema_state(self.engine)
        except Unavailable as exc:
            checks["database"] = exc.detail
        try:
            self.storage.check(self.key_prefix)
            checks["storage"] = "ok"
        except Unavailable as exc:
            checks["storage"] = exc.detail
        return checks
