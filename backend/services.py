"""The long-lived resources of one process: made at startup, closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

import boto3
import sqlalchemy as sa

from backend.db.engine import create_engine
from backend.domain.files import FileService
from backend.settings import Settings
from backend.storage import Storage, create_client


@dataclass(frozen=True)
class Services:
    """Settings, the database engine and the bucket adapter, shared by every request."""

    settings: Settings
    engine: sa.Engine
    storage: Storage

    @classmethod
    def create(
        cls, settings: Settings, boto_session: boto3.session.Session | None = None
    ) -> Services:
        """Build the engine and the one S3 client for this process."""
        return cls(
            settings=settings,
            engine=create_engine(settings, boto_session),
            storage=Storage(create_client(settings, boto_session), settings.s3_bucket),
        )

    def files(self) -> FileService:
        """The file rules over this process's database and bucket."""
        return FileService(self.engine, self.storage, self.settings)

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()
        self.storage.client.close()
