"""The request-scoped session: commits when the request succeeds, rolls back otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.api.resources import resources
from postwizard.realtime.events import take_pending_events


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Services only flush; this dependency owns the request's one commit, then publishes its events."""
    held = resources(request)
    async with held.session_factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
        for event in take_pending_events(session):
            await held.bus.publish(event.workspace_id, event.type, event.data)


# scope="function": commit before the response is sent, so a 2xx always means "saved".
DbSession = Annotated[AsyncSession, Depends(request_session, scope="function")]
