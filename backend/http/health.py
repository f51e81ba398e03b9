"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from backend.db.engine import ping
from backend.errors import Unavailable
from backend.http.schemas import Health
from backend.services import Services


class HealthController(Controller):
    """`/health/live`: the process answers. `/health/ready`: the database and bucket do too."""

    path = "/health"
    tags = ["health"]

    @get("/live", sync_to_thread=False)
    def live(self) -> Health:
        """The process is up."""
        return Health(status="ok")

    @get("/ready", sync_to_thread=True)
    def ready(self, services: NamedDependency[Services]) -> Response[Health]:
        """The database and the bucket answer; 503 naming the one that does not."""
        checks = {}
        try:
            ping(services.engine)
            checks["database"] = "ok"
        except Unavailable as exc:
            checks["database"] = exc.detail
        try:
            services.storage.check(services.settings.s3_key_prefix)
            checks["storage"] = "ok"
        except Unavailable as exc:
            checks["storage"] = exc.detail
        healthy = all(value == "ok" for value in checks.values())
        return Response(
            Health(status="ok" if healthy else "unavailable", checks=checks),
            status_code=200 if healthy else 503,
        )
