"""With tracing on, a request's trace holds its server span, its statements and its S3 calls."""

from __future__ import annotations

from collections.abc import Callable

import boto3
from litestar.testing import TestClient
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from backend.app import create_app
from backend.resources import Resources
from backend.settings import Settings
from backend.tracing import Tracing
from tests.configuration import replace_settings
from tests.integration.api import Api, post_form


def test_a_confirm_is_traced_through_the_database_and_s3(
    settings: Settings, boto_session: boto3.session.Session, make_key: Callable[[str], str]
) -> None:
    exported = InMemorySpanExporter()
    traced = replace_settings(settings, otel_exporter_otlp_endpoint="http://127.0.0.1:4318")
    resources = Resources.create(traced, boto_session)
    try:
        app = create_app(traced, resources, Tracing(exported))
        assert isinstance(app.asgi_handler, OpenTelemetryMiddleware)
        with TestClient(app) as http:
            api = Api(http, make_key("alice"))
            ticket = api.request_upload(b"traced").json()
            assert post_form(ticket["upload"], b"traced").status_code == 204
            exported.clear()
            assert api.request("POST", f"/files/{ticket['file_id']}/confirm").status_code == 200
    finally:
        resources.close()

    spans = exported.get_finished_spans()
    names = [span.name for span in spans]
    server = [s for s in spans if s.kind.name == "SERVER"]
    assert len(server) == 1 and server[0].name.startswith("POST")
    assert "S3.HeadObject" in names
    assert any(span.attributes and span.attributes.get("db.system") == "postgresql"
               for span in spans)  # fmt: skip
    trace_ids = {span.context.trace_id for span in spans}
    assert trace_ids == {server[0].context.trace_id}  # one trace: the request's


def test_without_an_endpoint_nothing_is_traced(api: Api) -> None:
    assert not isinstance(api.http.app.asgi_handler, OpenTelemetryMiddleware)
