"""The long-lived resources of one process: made at startup, closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

import boto3
import sqlalchemy as sa

from backend.db.engine import create_engine
from backend.settings import Settings
from backend.storage import Storage, create_client


@dataclass(frozen=True)
class Resources:
    """Settings, the database engine and the bucket adapter, shared by every request."""

    settings: Settings
    engine: sa.Engine
    storage: Storage

    @classmethod
    def create(
        cls, settings: Settings, boto_session: boto3.session.Session | None = None
    ) -> Resources:
        """Build the engine and the one S3 client for this process."""
        return cls(
            settings=settings,
            engine=create_engine(settings, boto_session),
            storage=Storage(
                create_client(settings, boto_session),
                settings.storage.bucket,
                max_concurrent_calls=settings.storage.max_concurrent_calls,
            ),
        )

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()
        self.storage.client.close()
