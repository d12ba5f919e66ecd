"""Rules for social accounts once connected (connecting itself: `accounts/connecting.py`)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts import repository, schemas
from postwizard.accounts.models import PostingSlot, SocialAccount
from postwizard.errors import NotFound
from postwizard.realtime.events import queue_event


async def get_account(
    session: AsyncSession, workspace_id: uuid.UUID, account_id: uuid.UUID
) -> SocialAccount:
    account = await repository.account_in_workspace(session, workspace_id, account_id)
    if account is None:
        raise NotFound("No such account in this workspace.")
    return account


async def update_account(
    session: AsyncSession, account: SocialAccount, body: schemas.AccountUpdate
) -> None:
    if body.display_name is not None:
        account.display_name = body.display_name
    if body.timezone is not None:
        account.timezone = body.timezone
    if body.slots is not None:
        await repository.replace_slots(
            session, account.id, [(slot.weekday, slot.minute_of_day) for slot in body.slots]
        )
    await session.flush()
    queue_event(session, account.workspace_id, "account.updated", {"id": str(account.id)})


async def disconnect_account(session: AsyncSession, account: SocialAccount) -> None:
    await session.delete(account)
    await session.flush()
    queue_event(session, account.workspace_id, "account.removed", {"id": str(account.id)})


def describe(account: SocialAccount, slots: list[PostingSlot]) -> schemas.Account:
    return schemas.Account(
        id=account.id,
        network=account.network,
        display_name=account.display_name,
        handle=account.handle,
        timezone=account.timezone,
        status=account.status,
        status_reason=account.status_reason,
        limit_overrides=account.limit_overrides,
        slots=[
            schemas.Slot(
                weekday=s.weekday, time=f"{s.minute_of_day // 60:02d}:{s.minute_of_day % 60:02d}"
            )
            for s in slots
        ],
        created_at=account.created_at,
    )
