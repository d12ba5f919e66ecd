"""Rules for workspaces, roles and invitations."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.auth.models import User
from postwizard.auth.secrets import digest, new_secret
from postwizard.db.base import utcnow
from postwizard.errors import Conflict, Forbidden, NotFound
from postwizard.realtime.events import queue_event
from postwizard.workspaces import repository
from postwizard.workspaces.models import Invitation, Membership, Role, Workspace

INVITATION_PREFIX = "pwi_"


async def create_workspace(
    session: AsyncSession, owner: User, name: str
) -> tuple[Workspace, Membership]:
    workspace = Workspace(name=name)
    session.add(workspace)
    await session.flush()
    membership = Membership(workspace_id=workspace.id, user_id=owner.id, role=Role.OWNER)
    session.add(membership)
    owner.current_workspace_id = workspace.id
    await session.flush()
    return workspace, membership


async def rename_workspace(session: AsyncSession, workspace: Workspace, name: str) -> Workspace:
    workspace.name = name
    await session.flush()
    queue_event(session, workspace.id, "workspace.updated", {"id": str(workspace.id), "name": name})
    return workspace


async def change_member_role(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    acting: Membership,
    user_id: uuid.UUID,
    role: Role,
) -> Membership:
    target = await repository.membership(session, workspace_id, user_id)
    if target is None:
        raise NotFound("That person is not a member of this workspace.")
    # Only owners hand out or take away ownership.
    if (role == Role.OWNER or target.role == Role.OWNER) and acting.role != Role.OWNER:
        raise Forbidden("Only an owner can grant or remove the owner role.")
    if (
        target.role == Role.OWNER
        and role != Role.OWNER
        and await repository.count_owners(session, workspace_id) == 1
    ):
        raise Conflict(
            "A workspace needs at least one owner; make someone else owner first.",
            code="last_owner",
        )
    target.role = role
    await session.flush()
    queue_event(
        session, workspace_id, "member.updated", {"user_id": str(user_id), "role": role.value}
    )
    return target


async def remove_member(
    session: AsyncSession, workspace_id: uuid.UUID, acting: Membership, user_id: uuid.UUID
) -> None:
    leaving_self = acting.user_id == user_id
    if not leaving_self and not acting.role.at_least(Role.ADMIN):
        raise Forbidden("Only admins and owners can remove members.")
    target = await repository.membership(session, workspace_id, user_id)
    if target is None:
        raise NotFound("That person is not a member of this workspace.")
    if target.role == Role.OWNER:
        if acting.role != Role.OWNER:
            raise Forbidden("Only an owner can remove an owner.")
        if await repository.count_owners(session, workspace_id) == 1:
            raise Conflict(
                "The last owner cannot leave; make someone else owner first.", code="last_owner"
            )
    await session.delete(target)
    await session.flush()
    queue_event(session, workspace_id, "member.removed", {"user_id": str(user_id)})


async def create_invitation(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    acting: Membership,
    *,
    role: Role,
    email: str | None,
    days: int,
) -> tuple[Invitation, str]:
    if role == Role.OWNER and acting.role != Role.OWNER:
        raise Forbidden("Only an owner can invite another owner.")
    secret = new_secret(INVITATION_PREFIX)
    invitation = Invitation(
        workspace_id=workspace_id,
        token_hash=digest(secret),
        role=role,
        email=email.lower() if email else None,
        created_by_id=acting.user_id,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(invitation)
    await session.flush()
    return invitation, secret


async def delete_invitation(
    session: AsyncSession, workspace_id: uuid.UUID, invitation_id: uuid.UUID
) -> None:
    invitation = await repository.invitation_in_workspace(session, workspace_id, invitation_id)
    if invitation is None:
        raise NotFound("No such invitation.")
    await session.delete(invitation)
    await session.flush()


async def open_invitation(session: AsyncSession, secret: str) -> tuple[Invitation, Workspace]:
    found = await repository.open_invitation_by_token_hash(session, digest(secret), utcnow())
    if found is None:
        raise NotFound(
            "This invitation link is not valid any more: it expired, was used or was withdrawn.",
            code="invitation_invalid",
        )
    return found


async def accept_invitation(session: AsyncSession, secret: str, user: User) -> Workspace:
    invitation, workspace = await open_invitation(session, secret)
    if invitation.email and invitation.email != user.email:
        raise Forbidden(
            f"This invitation is for {invitation.email}; sign in with that address.",
            code="invitation_for_other",
        )
    if await repository.membership(session, workspace.id, user.id) is None:
        session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=invitation.role))
        queue_event(
            session,
            workspace.id,
            "member.joined",
            {"user_id": str(user.id), "role": invitation.role.value},
        )
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = user.id
    user.current_workspace_id = workspace.id
    await session.flush()
    return workspace
