"""The FastAPI application: routers, middleware, and the resources it holds while running."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from postwizard import __version__
from postwizard.accounts.router import router as accounts_router
from postwizard.api.errors import install_error_handlers
from postwizard.api.middleware import BodySizeLimit
from postwizard.api.openapi import install_openapi
from postwizard.api.resources import Resources, resources_of
from postwizard.auth.csrf import CsrfProtection
from postwizard.auth.login_throttle import LoginThrottle
from postwizard.auth.router import router as auth_router
from postwizard.config import Settings, get_settings
from postwizard.db.engine import create_engine, create_session_factory
from postwizard.media.router import router as media_router
from postwizard.media.storage import LocalStorage
from postwizard.media.upload import UPLOAD_PATH, upload_body_limit
from postwizard.observability.health import router as health_router
from postwizard.observability.http import RequestObservability
from postwizard.observability.logging import configure_logging
from postwizard.posts.router import IMPORT_MAX_BYTES, IMPORT_PATH
from postwizard.posts.router import router as posts_router
from postwizard.realtime.bus import create_bus
from postwizard.realtime.router import router as realtime_router
from postwizard.web.spa import spa_router
from postwizard.workspaces.router import router as workspaces_router

API_ROUTERS = (
    auth_router,
    workspaces_router,
    realtime_router,
    accounts_router,
    posts_router,
    media_router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings` (default: from the environment). The database must be migrated."""
    settings = settings or get_settings()
    configure_logging(settings.log_format, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        held = resources_of(app)
        await held.bus.start()
        try:
            yield
        finally:
            await held.bus.stop()
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
    settings.resolved_secret_key()  # fail at start, not at first login, if the key is unusable
    engine = create_engine(settings.effective_database_url)
    app.state.resources = Resources(
        settings=settings,
        engine=engine,
        session_factory=create_session_factory(engine),
        bus=create_bus(settings.redis_url),
        login_throttle=LoginThrottle(settings.login_attempts_per_minute),
        media_storage=LocalStorage(settings.data_dir / "media"),
    )

    install_error_handlers(app)
    install_openapi(app)
    app.include_router(health_router)
    for router in API_ROUTERS:
        app.include_router(router)
    app.include_router(spa_router())

    # Added innermost first: observability wraps everything, so refused requests are logged too.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        overrides=[(UPLOAD_PATH, upload_body_limit(settings)), (IMPORT_PATH, IMPORT_MAX_BYTES)],
    )
    app.add_middleware(CsrfProtection, secure_cookie=settings.is_https)
    app.add_middleware(RequestObservability)
    return app
