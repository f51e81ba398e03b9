"""The application factory: `uvicorn --factory backend.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from backend import __version__
from backend.http.files import FilesController
from backend.http.health import HealthController
from backend.http.problems import EXCEPTION_HANDLERS
from backend.services import Services
from backend.settings import ConfigError, Settings, load_settings

REQUEST_BODY_LIMIT = 64 * 1024  # bodies are small JSON documents; file bytes never come here


def create_app(settings: Settings | None = None, services: Services | None = None) -> Litestar:
    """Build the app. Settings come from the environment when none are given.

    `services` lets tests hand in ready-made resources; otherwise they are created at startup
    and closed at shutdown.
    """
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            raise SystemExit(f"configuration error: {exc}") from None

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Blocking database and S3 calls run in this pool; size it for the expected load.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        owned = services is None
        app.state.services = services or Services.create(settings)
        try:
            yield
        finally:
            if owned:
                app.state.services.close()

    def provide_services(state: State) -> Services:
        return state.services  # type: ignore[no-any-return]

    return Litestar(
        route_handlers=[HealthController, FilesController],
        lifespan=[lifespan],
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=REQUEST_BODY_LIMIT,
        openapi_config=OpenAPIConfig(
            title="Stowage",
            version=__version__,
            description="Direct-to-S3 uploads: presigned, verified, recorded.",
            path="/docs",
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(type="http", scheme="bearer", description="API key")
                }
            ),
        ),
    )
