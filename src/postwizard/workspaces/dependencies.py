"""Workspace access checks: every workspace-scoped endpoint goes through one of these."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from postwizard.auth.dependencies import CurrentCaller
from postwizard.auth.service import Caller
from postwizard.db.session import DbSession
from postwizard.errors import Forbidden, NotFound
from postwizard.workspaces import repository
from postwizard.workspaces.models import Membership, Role, Workspace


@dataclass(frozen=True)
class WorkspaceAccess:
    workspace: Workspace
    membership: Membership
    caller: Caller


def require_role(minimum: Role) -> Callable[..., Awaitable[WorkspaceAccess]]:
    async def workspace_access(
        workspace_id: uuid.UUID, caller: CurrentCaller, session: DbSession
    ) -> WorkspaceAccess:
        membership = await repository.membership(session, workspace_id, caller.user.id)
        workspace = await session.get(Workspace, workspace_id) if membership else None
        if membership is None or workspace is None:
            # 404, not 403: whether a workspace exists is none of a non-member's business.
            raise NotFound("No such workspace, or you are not a member of it.")
        if not membership.role.at_least(minimum):
            raise Forbidden(
                f"This needs the {minimum.value} role or higher; you are {membership.role.value}."
            )
        return WorkspaceAccess(workspace=workspace, membership=membership, caller=caller)

    return workspace_access


ViewerAccess = Annotated[WorkspaceAccess, Depends(require_role(Role.VIEWER))]
EditorAccess = Annotated[WorkspaceAccess, Depends(require_role(Role.EDITOR))]
AdminAccess = Annotated[WorkspaceAccess, Depends(require_role(Role.ADMIN))]
OwnerAccess = Annotated[WorkspaceAccess, Depends(require_role(Role.OWNER))]
