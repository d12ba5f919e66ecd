"""The request-scoped session: commits when the request succeeds, rolls back otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postwizard.realtime.bus import EventBus
from postwizard.realtime.events import take_pending_events


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Services only flush; this dependency owns the request's one commit, then publishes its events."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    bus: EventBus = request.app.state.bus
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
        for event in take_pending_events(session):
            await bus.publish(event.workspace_id, event.type, event.data)


# scope="function": commit before the response is sent, so a 2xx always means "saved".
DbSession = Annotated[AsyncSession, Depends(request_session, scope="function")]
