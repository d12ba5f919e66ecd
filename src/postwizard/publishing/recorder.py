"""Group commit: the outcomes of many network calls recorded in one transaction.

Each finished call hands the recorder a function that applies its outcome to a session and
waits until that outcome is committed. The first waiter leads: it lingers a moment so that
other calls finishing at the same time join, commits them together, and keeps going while
more arrive. No background task, nothing to stop. If a batch fails, each outcome is retried
on its own, so one bad row cannot take the others with it.

Exactly-once does not depend on this: every call's Attempt row was committed before the call,
so an outcome lost with a crashed process is reconciled by the next worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postwizard.realtime.bus import EventBus
from postwizard.realtime.events import take_pending_events

log = structlog.get_logger(__name__)

Apply = Callable[[AsyncSession], Awaitable[None]]
# Marks a session whose commit the recorder does (see `Dispatcher._finish`).
BATCHED = "postwizard.batched"


class Recorder:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        bus: EventBus,
        *,
        linger_seconds: float = 0.003,
        before_commit: Apply | None = None,
        after_commit: Callable[[AsyncSession], None] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.bus = bus
        self.linger_seconds = linger_seconds
        # Runs once per batch, after its outcomes were applied: work done once for all of them.
        self.before_commit = before_commit
        # Runs once per batch right after its commit (before its events are published).
        self.after_commit = after_commit
        self._pending: list[tuple[Apply, asyncio.Future[None]]] = []
        self._leading = False

    async def record(self, apply: Apply) -> None:
        """Apply and commit (with whatever else is being recorded now); raises if it failed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((apply, done))
        if not self._leading:
            self._leading = True
            try:
                while self._pending:
                    await asyncio.sleep(self.linger_seconds)  # let the others join
                    batch, self._pending = self._pending, []
                    await self._commit(batch)
            finally:
                self._leading = False
        await done

    async def _commit(self, batch: list[tuple[Apply, asyncio.Future[None]]]) -> None:
        try:
            await self._commit_together([apply for apply, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                _, done = batch[0]
                if not done.done():
                    done.set_exception(error)
                return
            log.warning("recording a batch failed; recording one by one", size=len(batch))
            for apply, done in batch:
                try:
                    await self._commit_together([apply])
                except Exception as error:  # logged by the caller's guard
                    if not done.done():
                        done.set_exception(error)
                else:
                    if not done.done():
                        done.set_result(None)
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    async def _commit_together(self, applies: list[Apply]) -> None:
        async with self.session_factory() as session:
            session.info[BATCHED] = True
            for apply in applies:
                await apply(session)
            if self.before_commit is not None:
                await self.before_commit(session)
            await session.commit()
            if self.after_commit is not None:
                self.after_commit(session)
            events = take_pending_events(session)
        for event in events:
            await self.bus.publish(event.workspace_id, event.type, event.data)
