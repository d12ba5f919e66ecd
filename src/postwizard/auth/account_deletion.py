"""A person deletes their own account, for real.

Gone afterwards: the user row; every row that refers to it and cannot live without it (login
sessions, API tokens, memberships, the notification feed and preferences, push subscriptions,
whatever table is added later with a required reference to `user`); the invitations they
made, accepted or were sent; emails queued or sent to their address; and every workspace they
were the only member of, with all its rows and media files. What they wrote in workspaces
shared with others stays, with the author cleared: every optional reference to the user is set
to NULL here, explicitly, rather than trusting each foreign key's ON DELETE. A sole owner of a
workspace that has other members is refused (nothing is deleted) until they make someone else
owner.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

import postwizard.db.models  # noqa: F401 - every table, so every reference to `user` is seen
from postwizard.auth.models import User
from postwizard.auth.secrets import verify_password
from postwizard.db.base import Base
from postwizard.errors import Conflict, PostWizardError
from postwizard.notifications.models import OutboxKind, OutboxMessage
from postwizard.realtime.events import queue_event
from postwizard.workspaces import repository as workspaces_repository
from postwizard.workspaces.deletion import delete_workspace_rows, overwriting_deleted_rows
from postwizard.workspaces.models import Invitation, Membership, Role, Workspace


def references_to_users() -> list[tuple[Table, str, bool]]:
    """(table, column, nullable) of every foreign key to `user.id`."""
    found = []
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table.name == User.__tablename__ and table.name != User.__tablename__:
                found.append((table, key.parent.name, bool(key.parent.nullable)))
    return found


async def _members_besides(
    session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> int:
    count = await session.scalar(
        select(func.count()).where(
            Membership.workspace_id == workspace_id, Membership.user_id != user_id
        )
    )
    return count or 0


async def workspaces_to_delete(session: AsyncSession, user: User) -> list[Workspace]:
    """The workspaces only `user` belongs to; refuses (409 `sole_owner`, naming them) when the
    user is the only owner of a workspace others still belong to."""
    alone: list[Workspace] = []
    blocking: list[tuple[Workspace, int]] = []
    for workspace, membership in await workspaces_repository.memberships_of_user(session, user.id):
        others = await _members_besides(session, workspace.id, user.id)
        if others == 0:
            alone.append(workspace)
        elif (
            membership.role == Role.OWNER
            and await workspaces_repository.count_owners(session, workspace.id) == 1
        ):
            blocking.append((workspace, others))
    if blocking:
        names = ", ".join(
            f"“{w.name}” ({n} other member{'s' if n != 1 else ''})" for w, n in blocking
        )
        raise Conflict(
            f"You are the only owner of {names}. Make another member owner first (Settings → "
            "Workspace), or delete the workspace; then delete your account.",
            code="sole_owner",
            fields=[{"field": "workspaces", "message": w.name} for w, _ in blocking],
        )
    return alone


async def delete_account(session: AsyncSession, user: User, *, password: str) -> list[str]:
    """Delete `user` after checking `password` (in the caller's transaction); returns the media
    storage keys to remove once that is committed."""
    if not verify_password(user.password_hash, password):
        raise PostWizardError(
            "The password is wrong; nothing was deleted.",
            code="wrong_password",
            fields=[{"field": "password", "message": "does not match"}],
        )
    alone = await workspaces_to_delete(session, user)
    alone_ids = {workspace.id for workspace in alone}
    shared = [
        workspace.id
        for workspace, _ in await workspaces_repository.memberships_of_user(session, user.id)
        if workspace.id not in alone_ids
    ]
    await session.flush()
    orphaned: list[str] = []
    for workspace_id in alone_ids:
        orphaned += await delete_workspace_rows(session, workspace_id)
    async with overwriting_deleted_rows(session):
        # Invitations they made, accepted, or that were addressed to them: each names them.
        await session.execute(
            delete(Invitation).where(
                or_(
                    Invitation.created_by_id == user.id,
                    Invitation.accepted_by_id == user.id,
                    Invitation.email == user.email,
                )
            )
        )
        await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.kind == OutboxKind.EMAIL, OutboxMessage.recipient == user.email
            )
        )
        for table, column, nullable in references_to_users():
            if nullable:
                await session.execute(
                    update(table).where(table.c[column] == user.id).values({column: None})
                )
            else:
                await session.execute(delete(table).where(table.c[column] == user.id))
        await session.execute(delete(User).where(User.id == user.id))
    for workspace_id in shared:
        queue_event(session, workspace_id, "member.removed", {"user_id": str(user.id)})
    # The caller's user, login and token objects describe deleted rows: nothing to write back.
    session.expunge_all()
    return orphaned
