"""OpenTelemetry traces of the HTTP server, S3 calls (botocore) and the database: off by default.

With OTEL_EXPORTER_OTLP_ENDPOINT set, every request becomes a trace whose spans show the
statements it ran and the S3 calls it made, exported over OTLP/HTTP (the SDK reads the other
OTEL_* variables itself: headers, service name, sampling). The libraries load only then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from litestar.types import ASGIApp

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter


class Tracing:
    """One tracer provider for the process, and the instrumentation hung on it."""

    def __init__(self, exporter: SpanExporter | None = None) -> None:
        """Export to `exporter` as spans end, or (None) in batches to the OTLP endpoint."""
        # Imported here: a service without tracing never loads the SDK.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
            BatchSpanProcessor,
            SimpleSpanProcessor,
        )

        self.provider: TracerProvider = TracerProvider(
            resource=Resource.create({"service.name": "stowage"})
        )
        processor = (
            SimpleSpanProcessor(exporter)
            if exporter is not None
            else BatchSpanProcessor(OTLPSpanExporter())
        )
        self.provider.add_span_processor(processor)
        self._undo: list[Any] = []

    def asgi(self, app: ASGIApp) -> ASGIApp:
        """`app` with a server span around every request."""
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware  # noqa: PLC0415

        # Typed with the ASGI spec's plain mappings, which Litestar's scope types refine.
        traced: ASGIApp = OpenTelemetryMiddleware(app, tracer_provider=self.provider)  # type: ignore[assignment]
        return traced

    def instrument(self, engine: sa.Engine) -> None:
        """Spans for the engine's statements and for every botocore call of the process."""
        from opentelemetry.instrumentation.botocore import BotocoreInstrumentor  # noqa: PLC0415
        from opentelemetry.instrumentation.sqlalchemy import (  # noqa: PLC0415
            SQLAlchemyInstrumentor,
        )

        self._undo.append(
            # Its declared range stops below SQLAlchemy 2.1, whose engine events it uses unchanged.
            SQLAlchemyInstrumentor().instrument(
                engine=engine, tracer_provider=self.provider, skip_dep_check=True
            )
        )
        BotocoreInstrumentor().instrument(tracer_provider=self.provider)  # type: ignore[no-untyped-call]  # unannotated upstream

    def close(self) -> None:
        """Flush what is pending and take the instrumentation off again."""
        from opentelemetry.instrumentation.botocore import BotocoreInstrumentor  # noqa: PLC0415

        BotocoreInstrumentor().uninstrument()  # type: ignore[no-untyped-call]  # unannotated upstream
        for tracer in self._undo:
            tracer.remove_all_event_listeners()
        self.provider.shutdown()
