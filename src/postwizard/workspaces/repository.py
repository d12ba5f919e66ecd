"""Queries for workspaces, memberships and invitations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.api.pagination import PageParams, paginate
from postwizard.auth.models import User
from postwizard.workspaces.models import Invitation, Membership, Role, Workspace


async def memberships_of_user(
    session: AsyncSession, user_id: uuid.UUID
) -> Sequence[tuple[Workspace, Membership]]:
    rows = await session.execute(
        select(Workspace, Membership)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.id)
    )
    return [(workspace, membership) for workspace, membership in rows.all()]


async def page_of_user_workspaces(
    session: AsyncSession, user_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[Workspace], str | None]:
    statement = select(Workspace).join(Membership).where(Membership.user_id == user_id)
    return await paginate(session, statement, Workspace.id, params)


async def membership(
    session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    return await session.get(Membership, (workspace_id, user_id))


async def roles_in_workspaces(
    session: AsyncSession, user_id: uuid.UUID, workspace_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Role]:
    rows = await session.execute(
        select(Membership.workspace_id, Membership.role).where(
            Membership.user_id == user_id, Membership.workspace_id.in_(workspace_ids)
        )
    )
    return {workspace_id: role for workspace_id, role in rows.all()}


async def page_of_members(
    session: AsyncSession, workspace_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[tuple[Membership, User]], str | None]:
    memberships, next_cursor = await paginate(
        session,
        select(Membership).where(Membership.workspace_id == workspace_id),
        Membership.user_id,
        params,
    )
    users = await users_by_id(session, [m.user_id for m in memberships])
    return [(m, users[m.user_id]) for m in memberships], next_cursor


async def users_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
    users = await session.scalars(select(User).where(User.id.in_(ids)))
    return {user.id: user for user in users}


async def count_owners(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).where(
            Membership.workspace_id == workspace_id, Membership.role == Role.OWNER
        )
    )
    return count or 0


async def page_of_invitations(
    session: AsyncSession, workspace_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[Invitation], str | None]:
    statement = select(Invitation).where(Invitation.workspace_id == workspace_id)
    return await paginate(session, statement, Invitation.id, params)


async def invitation_in_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation | None:
    return await session.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id, Invitation.workspace_id == workspace_id
        )
    )


async def open_invitation_by_token_hash(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[Invitation, Workspace] | None:
    row = await session.execute(
        select(Invitation, Workspace)
        .join(Workspace, Workspace.id == Invitation.workspace_id)
        .where(
            Invitation.token_hash == token_hash,
            Invitation.accepted_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    found = row.first()
    return (found[0], found[1]) if found else None
