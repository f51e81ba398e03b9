"""`GET /metrics`: Prometheus exposition, when METRICS_ENABLED, behind METRICS_TOKEN if set."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler

from backend.errors import NotAuthenticated
from backend.http.auth import bearer_token
from backend.metrics import CONTENT_TYPE, Metrics


def metrics_endpoint(token: str | None) -> HTTPRouteHandler:
    """The /metrics route; with a token, only requests bearing it are answered."""

    @get("/metrics", include_in_schema=False, sync_to_thread=False)
    def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        """Every counter, histogram and gauge, in Prometheus' text format."""
        if token is not None:
            presented = bearer_token(request) or ""
            if not hmac.compare_digest(presented.encode(), token.encode()):
                raise NotAuthenticated("Metrics need the metrics token.")
        recorder: Metrics = request.app.state.metrics
        return Response(recorder.render(), media_type=CONTENT_TYPE)

    return metrics
