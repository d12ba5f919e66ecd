"""Starting and stopping the notification tasks alongside the app or the worker."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postwizard.config import Settings
from postwizard.growth.watch import GrowthWatcher
from postwizard.notifications.worker import NotificationIntake, OutboxSender, SenderConfig
from postwizard.realtime.bus import EventBus


@dataclass
class NotificationRuntime:
    intake: NotificationIntake | None
    sender: OutboxSender | None
    growth: GrowthWatcher | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        session_factory: async_sessionmaker[AsyncSession],
        bus: EventBus,
        settings: Settings,
        secret_key: str,
        *,
        intake: bool,
        sender: bool,
        sender_config: SenderConfig | None = None,
    ) -> NotificationRuntime:
        """`intake` in processes whose bus sees events (every web process); `sender` where
        background work runs (the worker, or `serve` with its embedded worker), together with the
        growth watcher (goal, challenge and streak news)."""
        wake = asyncio.Event()
        runtime = cls(
            NotificationIntake(session_factory, bus, settings, wake) if intake else None,
            OutboxSender(session_factory, bus, settings, secret_key, sender_config, wake)
            if sender
            else None,
            GrowthWatcher(session_factory, bus, settings, wake) if sender else None,
        )
        if runtime.intake is not None:
            runtime.tasks.append(
                asyncio.create_task(
                    runtime.intake.run(runtime.stop_event), name="notification-intake"
                )
            )
        if runtime.sender is not None:
            runtime.tasks.append(
                asyncio.create_task(
                    runtime.sender.run(runtime.stop_event), name="notification-sender"
                )
            )
        if runtime.growth is not None:
            runtime.tasks.append(
                asyncio.create_task(runtime.growth.run(runtime.stop_event), name="growth-watcher")
            )
        return runtime

    async def stop(self) -> None:
        self.stop_event.set()
        for task in self.tasks:
            with contextlib.suppress(Exception):
                await task
        if self.sender is not None:
            await self.sender.aclose()
