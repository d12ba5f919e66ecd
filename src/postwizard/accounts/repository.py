"""Queries for social accounts and their posting slots."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts.models import PostingSlot, SocialAccount
from postwizard.api.pagination import PageParams, paginate
from postwizard.platforms.networks import Network


async def account_in_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, account_id: uuid.UUID
) -> SocialAccount | None:
    return await session.scalar(
        select(SocialAccount).where(
            SocialAccount.id == account_id, SocialAccount.workspace_id == workspace_id
        )
    )


async def account_by_remote_id(
    session: AsyncSession, workspace_id: uuid.UUID, network: Network, remote_id: str
) -> SocialAccount | None:
    """The workspace's account that is this remote account of `network`, if connected before."""
    return await session.scalar(
        select(SocialAccount)
        .where(
            SocialAccount.workspace_id == workspace_id,
            SocialAccount.network == network,
            SocialAccount.remote_id == remote_id,
        )
        .order_by(SocialAccount.id)
        .limit(1)
    )


async def accounts_in_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, account_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, SocialAccount]:
    accounts = await session.scalars(
        select(SocialAccount).where(
            SocialAccount.workspace_id == workspace_id, SocialAccount.id.in_(account_ids)
        )
    )
    return {account.id: account for account in accounts}


async def page_of_accounts(
    session: AsyncSession, workspace_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[SocialAccount], str | None]:
    statement = select(SocialAccount).where(SocialAccount.workspace_id == workspace_id)
    return await paginate(session, statement, SocialAccount.id, params)


async def slots_of_accounts(
    session: AsyncSession, account_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[PostingSlot]]:
    slots = await session.scalars(
        select(PostingSlot)
        .where(PostingSlot.account_id.in_(account_ids))
        .order_by(PostingSlot.weekday, PostingSlot.minute_of_day)
    )
    grouped: dict[uuid.UUID, list[PostingSlot]] = {account_id: [] for account_id in account_ids}
    for slot in slots:
        grouped[slot.account_id].append(slot)
    return grouped


async def replace_slots(
    session: AsyncSession, account_id: uuid.UUID, slots: Sequence[tuple[int, int]]
) -> None:
    await session.execute(delete(PostingSlot).where(PostingSlot.account_id == account_id))
    session.add_all(
        PostingSlot(account_id=account_id, weekday=weekday, minute_of_day=minute)
        for weekday, minute in sorted(set(slots))
    )
    await session.flush()


async def all_accounts_of_workspace(
    session: AsyncSession, workspace_id: uuid.UUID
) -> Sequence[SocialAccount]:
    statement = (
        select(SocialAccount)
        .where(SocialAccount.workspace_id == workspace_id)
        .order_by(SocialAccount.id)
    )
    return (await session.scalars(statement)).all()
