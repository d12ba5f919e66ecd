"""Events: what happened in a workspace, published only after the change is committed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.db.base import utcnow

PENDING_EVENTS_KEY = "postwizard.pending_events"


@dataclass(frozen=True)
class PendingEvent:
    workspace_id: uuid.UUID
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Event:
    """An event as subscribers see it; `id` orders events of one workspace."""

    id: str
    workspace_id: uuid.UUID
    type: str
    data: dict[str, Any]
    at: datetime = field(default_factory=utcnow)


def queue_event(
    session: AsyncSession, workspace_id: uuid.UUID, type_: str, data: dict[str, Any]
) -> None:
    """Publish `type_` once the session's transaction commits (never for a rolled-back change)."""
    session.info.setdefault(PENDING_EVENTS_KEY, []).append(PendingEvent(workspace_id, type_, data))


def take_pending_events(session: AsyncSession) -> list[PendingEvent]:
    events: list[PendingEvent] = session.info.pop(PENDING_EVENTS_KEY, [])
    return events
