"""The long-lived resources of one process: made at startup, closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

import boto3
import sqlalchemy as sa

from backend.db.engine import create_engine
from backend.metrics import Metrics
from backend.settings import Settings
from backend.storage import Storage, create_client


@dataclass(frozen=True)
class Resources:
    """Settings, the database engine and the bucket adapter, shared by every request."""

    settings: Settings
    engine: sa.Engine
    storage: Storage
    # Made only when METRICS_ENABLED: otherwise nothing is counted at all.
    metrics: Metrics | None = None

    @classmethod
    def create(
        cls, settings: Settings, boto_session: boto3.session.Session | None = None
    ) -> Resources:
        """Build the engine and the one S3 client for this process."""
        metrics = Metrics() if settings.observability.metrics_enabled else None
        engine = create_engine(settings, boto_session)
        storage = Storage(
            create_client(settings, boto_session),
            settings.storage.bucket,
            max_concurrent_calls=settings.storage.max_concurrent_calls,
            metrics=metrics,
        )
        if metrics is not None:
            metrics.watch_engine(engine)
            metrics.gauge(
                "stowage_s3_calls_in_flight",
                "S3 calls under way (S3_MAX_CONCURRENT_CALLS at most)",
                lambda: storage.calls.in_use,
            )
        return cls(settings=settings, engine=engine, storage=storage, metrics=metrics)

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()
        self.storage.client.close()
