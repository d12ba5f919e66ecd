"""The FastAPI application: routers, middleware, and the resources it holds while running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI

import postwizard.db.models  # noqa: F401 - every table registered, whichever routers exist
from postwizard import __version__
from postwizard.accounts.router import networks_router, oauth_router
from postwizard.accounts.router import router as accounts_router
from postwizard.analytics.collector import Collector, collector_config
from postwizard.analytics.metrics_router import router as metrics_router
from postwizard.analytics.router import router as analytics_router
from postwizard.api.errors import install_error_handlers
from postwizard.api.middleware import BodySizeLimit
from postwizard.api.openapi import install_openapi
from postwizard.api.rate_limits import create_rate_limiter
from postwizard.api.resources import Resources, resources_of
from postwizard.api.security_headers import SecurityHeaders
from postwizard.auth.csrf import CsrfProtection
from postwizard.auth.router import router as auth_router
from postwizard.captions.router import router as captions_router
from postwizard.config import Settings, get_settings
from postwizard.db.engine import create_engine, create_session_factory
from postwizard.growth.router import router as growth_router
from postwizard.media.public_router import router as public_media_router
from postwizard.media.public_urls import PublicMediaUrls
from postwizard.media.router import router as media_router
from postwizard.media.storage import LocalStorage
from postwizard.media.upload import UPLOAD_PATH, upload_body_limit
from postwizard.notes.router import router as notes_router
from postwizard.notifications.router import router as notifications_router
from postwizard.notifications.runtime import NotificationRuntime
from postwizard.observability.health import router as health_router
from postwizard.observability.http import RequestObservability
from postwizard.observability.logging import configure_logging
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import Platform
from postwizard.platforms.registry import PlatformRegistry
from postwizard.posts.router import IMPORT_MAX_BYTES, IMPORT_PATH
from postwizard.posts.router import router as posts_router
from postwizard.publishing.dispatcher import Dispatcher, dispatcher_config, retry_policy
from postwizard.publishing.router import router as publishing_router
from postwizard.realtime.bus import create_bus
from postwizard.realtime.router import router as realtime_router
from postwizard.sandbox.app import close_sandbox_app
from postwizard.web.spa import DIST_DIR, spa_router
from postwizard.workspaces.router import router as workspaces_router

API_ROUTERS = (
    auth_router,
    workspaces_router,
    realtime_router,
    accounts_router,
    networks_router,
    oauth_router,
    posts_router,
    publishing_router,
    media_router,
    public_media_router,
    captions_router,
    analytics_router,
    growth_router,
    metrics_router,
    notes_router,
    notifications_router,
)


SANDBOX_MOUNT = "/sandbox"


def dispatcher_for(held: Resources) -> Dispatcher:
    return Dispatcher(
        held.session_factory,
        held.platforms,
        held.bus,
        held.secret_key,
        policy=retry_policy(held.settings),
        config=dispatcher_config(held.settings),
        media_storage=held.media_storage,
        public_media_urls=PublicMediaUrls(held.secret_key, held.settings.effective_public_url),
    )


def collector_for(held: Resources) -> Collector:
    return Collector(
        held.session_factory,
        held.platforms,
        held.bus,
        held.secret_key,
        policy=retry_policy(held.settings),
        config=collector_config(held.settings),
    )


def create_app(
    settings: Settings | None = None, *, extra_platforms: Mapping[Network, Platform] | None = None
) -> FastAPI:
    """Build the app for `settings` (default: from the environment). The database must be migrated.
    `extra_platforms` adds network adapters to (or replaces) the ones the settings give."""
    settings = settings or get_settings()
    configure_logging(settings.log_format, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        held = resources_of(app)
        await held.bus.start()
        stop = asyncio.Event()
        worker: asyncio.Task[None] | None = None
        collector: asyncio.Task[None] | None = None
        if settings.embedded_worker:
            worker = asyncio.create_task(dispatcher_for(held).run(stop), name="embedded-dispatcher")
            collector = asyncio.create_task(
                collector_for(held).run(stop), name="embedded-collector"
            )
        # Every web process turns bus events into notifications; the sender runs with the worker.
        notifications = NotificationRuntime.start(
            held.session_factory,
            held.bus,
            settings,
            held.secret_key,
            intake=True,
            sender=settings.embedded_worker,
        )
        app.state.notifications = notifications
        try:
            yield
        finally:
            await notifications.stop()
            stop.set()
            if worker is not None:
                await worker
            if collector is not None:
                await collector
            await held.bus.stop()
            await held.rate_limiter.aclose()
            await held.platforms.aclose()
            if sandbox_app is not None:
                await close_sandbox_app(sandbox_app)
            await held.engine.dispose()

    app = FastAPI(
        title="PostWizard",
        version=__version__,
        summary="Self-hosted social media manager: compose, schedule, publish exactly once, measure.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    secret_key = settings.resolved_secret_key()  # fail at start, not at first use, if unusable
    engine = create_engine(settings.effective_database_url)
    platforms, sandbox_app = PlatformRegistry.from_settings(settings, extra_platforms)
    app.state.resources = Resources(
        settings=settings,
        engine=engine,
        session_factory=create_session_factory(engine),
        bus=create_bus(settings.redis_url),
        rate_limiter=create_rate_limiter(settings.redis_url),
        media_storage=LocalStorage(settings.data_dir / "media"),
        platforms=platforms,
        secret_key=secret_key,
    )

    install_error_handlers(app)
    install_openapi(app)
    app.include_router(health_router)
    for router in API_ROUTERS:
        app.include_router(router)
    if sandbox_app is not None:
        app.mount(SANDBOX_MOUNT, sandbox_app)  # before the SPA's catch-all route
    app.include_router(spa_router())

    # Added innermost first: observability wraps everything, so refused requests are logged too.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        overrides=[(UPLOAD_PATH, upload_body_limit(settings)), (IMPORT_PATH, IMPORT_MAX_BYTES)],
    )
    app.add_middleware(
        CsrfProtection, secure_cookie=settings.is_https, exempt_prefixes=(SANDBOX_MOUNT + "/",)
    )
    app.add_middleware(SecurityHeaders, index_html=DIST_DIR / "index.html", https=settings.is_https)
    app.add_middleware(RequestObservability)
    return app
