"""Prometheus metrics: what an operator on call needs to see, in one registry per process.

With several worker processes (`WEB_CONCURRENCY` > 1) `serve` points
PROMETHEUS_MULTIPROC_DIR at a fresh directory before the workers start; prometheus_client then
keeps counters and histograms in files there, and whichever worker answers /metrics adds up
all of them. Pool gauges are read live from the answering process and carry its pid.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from backend.domain.sweeper import SweepReport

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Request latencies from a fraction of a millisecond (signing) to S3's deadlines.
_SECONDS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Every instrument the service records into; made once per process, at startup."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._gauges: dict[str, tuple[str, Callable[[], float]]] = {}

        def counter(name: str, doc: str, labels: Iterable[str] = ()) -> Counter:
            return Counter(name, doc, list(labels), registry=self.registry)

        def histogram(name: str, doc: str, labels: Iterable[str]) -> Histogram:
            return Histogram(name, doc, list(labels), registry=self.registry, buckets=_SECONDS)

        self.requests = counter(
            "stowage_http_requests", "Requests answered", ("method", "route", "status")
        )
        self.request_seconds = histogram(
            "stowage_http_request_duration_seconds",
            "Time to answer a request",
            ("method", "route"),
        )
        self.uploads_initiated = counter(
            "stowage_uploads_initiated", "Uploads announced", ("method",)
        )
        self.uploads_confirmed = counter("stowage_uploads_confirmed", "Files that became ready")
        self.uploads_rejected = counter(
            "stowage_uploads_rejected",
            "Uploads rejected at confirm, by the first field that differed",
            ("reason",),
        )
        self.uploads_expired = counter(
            "stowage_uploads_expired", "Pending uploads whose form expired unused"
        )
        self.bytes_confirmed = counter("stowage_bytes_confirmed", "Bytes of files made ready")
        self.s3_seconds = histogram(
            "stowage_s3_call_duration_seconds", "Time of S3 calls", ("operation",)
        )
        self.s3_errors = counter(
            "stowage_s3_call_errors", "S3 calls that failed or were refused", ("operation",)
        )
        self.db_seconds = histogram(
            "stowage_db_statement_duration_seconds",
            "Time of database statements",
            ("statement",),
        )
        self.db_errors = counter("stowage_db_errors", "Database statements that failed")
        self.sweeps = counter("stowage_sweeps", "Sweeper passes")
        self.swept_things = counter(
            "stowage_swept", "What the background sweeper did, by kind", ("kind",)
        )

    def initiated(self, method: str) -> None:
        """An upload was announced (UploadEvents)."""
        self.uploads_initiated.labels(method).inc()

    def confirmed(self, size: int) -> None:
        """A file became ready (UploadEvents)."""
        self.uploads_confirmed.inc()
        self.bytes_confirmed.inc(size)

    def rejected(self, reason: str) -> None:
        """A file was rejected (UploadEvents)."""
        self.uploads_rejected.labels(reason).inc()

    def swept(self, report: SweepReport) -> None:
        """What one background sweep did."""
        self.sweeps.inc()
        self.uploads_expired.inc(report.expired)
        for kind, count in asdict(report).items():
            if count:
                self.swept_things.labels(kind).inc(count)

    def gauge(self, name: str, doc: str, read: Callable[[], float]) -> None:
        """A value read live at every scrape (pool use, queue depth)."""
        self._gauges[name] = (doc, read)

    @contextmanager
    def s3_call(self, operation: str) -> Iterator[None]:
        """Time one S3 call; count it as an error if it raises."""
        started = time.perf_counter()
        try:
            yield
        except Exception:
            self.s3_errors.labels(operation).inc()
            raise
        finally:
            self.s3_seconds.labels(operation).observe(time.perf_counter() - started)

    def watch_engine(self, engine: sa.Engine) -> None:
        """Time every statement on `engine` by its kind, count failures, and gauge its pool."""

        @sa.event.listens_for(engine, "before_cursor_execute")
        def started(conn: Any, _cursor: Any, _statement: Any, *_: Any) -> None:
            conn.info.setdefault("stowage_started", []).append(time.perf_counter())

        @sa.event.listens_for(engine, "after_cursor_execute")
        def finished(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            began = conn.info["stowage_started"].pop()
            self.db_seconds.labels(_kind(statement)).observe(time.perf_counter() - began)

        @sa.event.listens_for(engine, "handle_error")
        def failed(context: Any) -> None:
            self.db_errors.inc()
            pending = context.connection.info.get("stowage_started") if context.connection else None
            if pending:
                pending.pop()

        pool = engine.pool
        if isinstance(pool, sa.QueuePool):
            self.gauge(
                "stowage_db_pool_in_use", "Database connections checked out", pool.checkedout
            )
            self.gauge("stowage_db_pool_size", "Database connections the pool keeps", pool.size)

    def render(self) -> bytes:
        """The exposition text: every worker's counters, and this process's gauges."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            MultiProcessCollector(merged)  # type: ignore[no-untyped-call]  # unannotated upstream
            merged.register(_Live(self._gauges))
            return generate_latest(merged)
        return generate_latest(self.registry) + generate_latest(_only(_Live(self._gauges)))


class _Live(Collector):
    """Gauges read when scraped, labelled with the pid of the process that read them."""

    def __init__(self, gauges: dict[str, tuple[str, Callable[[], float]]]) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (doc, read) in self.gauges.items():
            family = GaugeMetricFamily(name, doc, labels=["pid"])
            family.add_metric([str(os.getpid())], float(read()))
            yield family


def _only(collector: Collector) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(collector)
    return registry


def _kind(statement: str) -> str:
    """SELECT, INSERT, UPDATE, DELETE... : the first word, never the statement's values."""
    word = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "OTHER"
    return word if word.isalpha() and len(word) <= 10 else "OTHER"
