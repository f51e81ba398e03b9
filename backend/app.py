"""The application factory: `uvicorn --factory backend.app:create_app`."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from backend import __version__, logs
from backend.domain.events import UNHEARD
from backend.domain.files import FileService
from backend.domain.health import HealthService
from backend.domain.keys import KeyService
from backend.domain.multipart import MultipartService
from backend.domain.quotas import QuotaService
from backend.domain.sweeper import Sweeper
from backend.domain.tokens import TokenService
from backend.domain.uploads import UploadService
from backend.http.bodies import REQUEST_BODY_LIMIT
from backend.http.cors import CorsMiddleware, CorsPolicy
from backend.http.docs import DOCS_PATH, swagger_ui, swagger_ui_assets
from backend.http.files import FilesController
from backend.http.health import HealthController
from backend.http.limits import RateLimiter, RateLimitHeaders
from backend.http.me import MeController
from backend.http.metrics import metrics_endpoint
from backend.http.openapi import API_DESCRIPTION
from backend.http.parts import PartsController
from backend.http.problems import EXCEPTION_HANDLERS
from backend.http.tracking import RequestTracking
from backend.http.web import web_client
from backend.resources import Resources
from backend.schedule import Periodic
from backend.settings import ConfigError, Settings, load_settings
from backend.tracing import Tracing

# The domain services handlers receive as typed dependencies, each built from the resources.
SERVICES: dict[str, Callable[[Resources], object]] = {
    "uploads": lambda r: UploadService(r.engine, r.storage, r.settings, r.metrics or UNHEARD),
    "files": lambda r: FileService(r.engine, r.storage, r.settings),
    "multipart": lambda r: MultipartService(r.engine, r.storage, r.settings),
    "keys": lambda r: KeyService(r.engine, cache_seconds=r.settings.server.key_cache_seconds),
    "quotas": lambda r: QuotaService(r.engine, r.settings.limits),
    "tokens": lambda r: TokenService(r.engine, r.settings.oidc),
    "health": lambda r: HealthService(r.engine, r.storage, r.settings.storage.key_prefix),
}


def _provider(name: str) -> Provide:
    def provide(state: State) -> Any:
        return state.services[name]

    return Provide(provide, sync_to_thread=False)


def _sweep_schedule(resources: Resources) -> Periodic | None:
    """The background sweep, started, when SWEEP_INTERVAL_SECONDS turns it on."""
    interval = resources.settings.sweep.interval_seconds
    if interval == 0:
        return None
    sweeper = Sweeper(resources.engine, resources.storage, resources.settings)
    metrics = resources.metrics

    def sweep() -> None:
        report = sweeper.sweep()
        if metrics is not None:
            metrics.swept(report)

    periodic = Periodic(sweep, interval, name="sweeper")
    periodic.start()
    return periodic


def _freeze_startup_objects() -> None:
    """Keep what startup built out of the garbage collector's full passes.

    Modules, routes, pools and clients live as long as the process, yet every full collection
    walks them all: a 130-160 ms stall every 10,000 requests or so here, which every request
    in flight then waits out. Frozen (after one collection, so no garbage is kept with them),
    they are skipped: a full pass walks only what was made since, 25-50 ms here, somewhat
    more often, and less time in all.
    """
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    resources: Resources | None = None,
    tracing: Tracing | None = None,
) -> Litestar:
    """Build the app. Settings come from the environment when none are given.

    `resources` lets tests hand in ready-made ones; otherwise they are created at startup
    and closed at shutdown.
    """
    serving = settings is None
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            raise SystemExit(f"configuration error: {exc}") from None
        # Settings from the environment: this is a real server (uvicorn's factory or `serve`),
        # not a test, so its logs go out in the configured format.
        logs.configure(settings.observability, settings.server.log_level)
    if tracing is None and settings.observability.otlp_endpoint is not None:
        tracing = Tracing()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Litestar runs sync handlers (and the auth guard runs its lookup) in the event loop's
        # default executor, which asyncio would size by CPU count (6 threads on 2 cores):
        # WORKER_THREADS sizes it instead, since the work is waiting on PostgreSQL and S3.
        workers = ThreadPoolExecutor(settings.server.worker_threads, thread_name_prefix="worker")
        asyncio.get_running_loop().set_default_executor(workers)
        made = resources or Resources.create(settings)
        app.state.services = {name: build(made) for name, build in SERVICES.items()}
        app.state.rate_limiter = RateLimiter(settings.limits)
        app.state.metrics = made.metrics
        if made.metrics is not None:
            made.metrics.gauge(
                "stowage_worker_threads_queued",
                "Handler calls waiting for one of the WORKER_THREADS (above 0: all are busy)",
                workers._work_queue.qsize,  # the executor's own queue: no public accessor
            )
        if tracing is not None:
            tracing.instrument(made.engine)
        sweeping = _sweep_schedule(made)
        if serving:
            _freeze_startup_objects()
        try:
            yield
        finally:
            if sweeping is not None:
                sweeping.stop()
            if tracing is not None:
                tracing.close()
            app.state.rate_limiter.close()
            if resources is None:
                made.close()
            workers.shutdown(wait=False, cancel_futures=True)

    handlers: list[Any] = [
        HealthController,
        FilesController,
        PartsController,
        MeController,
        swagger_ui_assets(),
        web_client(),
    ]
    if settings.observability.metrics_enabled:
        handlers.append(metrics_endpoint(settings.observability.metrics_token))
    app = Litestar(
        route_handlers=handlers,
        lifespan=[lifespan],
        dependencies={name: _provider(name) for name in SERVICES},
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=REQUEST_BODY_LIMIT,
        openapi_config=OpenAPIConfig(
            title="Stowage",
            version=__version__,
            description=API_DESCRIPTION,
            use_handler_docstrings=True,
            path=DOCS_PATH,
            render_plugins=[swagger_ui()],
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="An API key (stw_...), or an end user's access token (a "
                        "JWT) from the OpenID Connect provider the service is configured with",
                    )
                }
            ),
        ),
    )
    if settings.server.cors_allow_origins:
        # Around the whole ASGI app rather than as route middleware, so that answers the router
        # gives itself (404, 405) carry CORS headers too and browsers can read them.
        policy = CorsPolicy(settings.server.cors_allow_origins)
        app.asgi_handler = CorsMiddleware(app.asgi_handler, policy)
    # Outside the router and its exception handlers, so every answer to a counted request,
    # refusals and errors too, carries its RateLimit-* headers.
    app.asgi_handler = RateLimitHeaders(app.asgi_handler)
    # Outermost, so preflights and refusals get a request id and an access line too.
    app.asgi_handler = RequestTracking(app.asgi_handler, lambda: app.state.get("metrics"))
    if tracing is not None:
        app.asgi_handler = tracing.asgi(app.asgi_handler)
    return app
