"""`postwizard worker`: the dispatcher and the metric collector without the web server."""

from __future__ import annotations

import asyncio
import signal

import structlog

import postwizard.db.models  # noqa: F401 - every table, so foreign keys resolve without the web app
from postwizard.analytics.collector import Collector, collector_config
from postwizard.config import Settings
from postwizard.db.engine import create_engine, create_session_factory
from postwizard.media.public_urls import PublicMediaUrls
from postwizard.media.storage import LocalStorage
from postwizard.notifications.runtime import NotificationRuntime
from postwizard.observability.logging import configure_logging
from postwizard.platforms.registry import PlatformRegistry
from postwizard.publishing.dispatcher import Dispatcher, dispatcher_config, retry_policy
from postwizard.realtime.bus import create_bus
from postwizard.workers import freeze_startup_objects

log = structlog.get_logger(__name__)


async def run_worker(settings: Settings) -> None:
    configure_logging(settings.log_format, settings.log_level)
    engine = create_engine(settings.effective_database_url)
    bus = create_bus(settings.redis_url)
    platforms, _sandbox_app = PlatformRegistry.from_settings(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await bus.start()
    try:
        dispatcher = Dispatcher(
            create_session_factory(engine),
            platforms,
            bus,
            settings.resolved_secret_key(),
            policy=retry_policy(settings),
            config=dispatcher_config(settings),
            media_storage=LocalStorage(settings.data_dir / "media"),
            public_media_urls=PublicMediaUrls(
                settings.resolved_secret_key(), settings.effective_public_url
            ),
        )
        collector = Collector(
            dispatcher.session_factory,
            platforms,
            bus,
            settings.resolved_secret_key(),
            policy=retry_policy(settings),
            config=collector_config(settings),
        )
        # Notification emails and webhook calls; events this process publishes become
        # notifications here too (a SQLite worker's events never reach the web process).
        notifications = NotificationRuntime.start(
            dispatcher.session_factory,
            bus,
            settings,
            settings.resolved_secret_key(),
            intake=True,
            sender=True,
        )
        freeze_startup_objects()
        # Both drain on SIGTERM: in-flight calls and collection rounds finish first.
        try:
            await asyncio.gather(dispatcher.run(stop), collector.run(stop))
        finally:
            await notifications.stop()
    finally:
        await bus.stop()
        await platforms.aclose()
        await engine.dispose()
