"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from backend.domain.health import HealthService
from backend.errors import NotReady
from backend.http.openapi import documented
from backend.http.schemas import Health


class HealthController(Controller):
    """`/health/live`: the process answers. `/health/ready`: the database and bucket do too."""

    path = "/health"
    tags = ["health"]

    @get("/live", sync_to_thread=False, operation_id="checkLiveness")
    def live(self) -> Health:
        """The process is up."""
        return Health(status="ok")

    @get("/ready", sync_to_thread=True, operation_id="checkReadiness", **documented(NotReady))
    def ready(self, health: NamedDependency[HealthService]) -> Health:
        """The database and the bucket answer; 503 naming the one that does not."""
        checks = health.checks()
        if all(value == "ok" for value in checks.values()):
            return Health(status="ok", checks=checks)
        failing = ", ".join(name for name, value in checks.items() if value != "ok")
        raise NotReady(f"Not ready: {failing} unavailable.", checks)
