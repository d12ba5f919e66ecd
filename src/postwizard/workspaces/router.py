"""Workspaces, members and invitation links."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from postwizard.api import API_PREFIX
from postwizard.api.pagination import Page, Pagination
from postwizard.api.resources import resources
from postwizard.auth.dependencies import CurrentCaller
from postwizard.auth.models import User
from postwizard.db.session import DbSession
from postwizard.workspaces import repository, schemas, service
from postwizard.workspaces.deletion import delete_workspace as delete_workspace_for_real
from postwizard.workspaces.deletion import remove_deleted_files
from postwizard.workspaces.dependencies import AdminAccess, OwnerAccess, ViewerAccess
from postwizard.workspaces.export import archive_name, export_chunks
from postwizard.workspaces.models import Membership, Role, Workspace

router = APIRouter(prefix=f"{API_PREFIX}/workspaces", tags=["workspaces"])


@router.get("")
async def list_workspaces(
    caller: CurrentCaller, session: DbSession, page: Pagination
) -> Page[schemas.Workspace]:
    """The workspaces you belong to, with your role in each."""
    workspaces, next_cursor = await repository.page_of_user_workspaces(
        session, caller.user.id, page
    )
    roles = await repository.roles_in_workspaces(
        session, caller.user.id, [w.id for w in workspaces]
    )
    items = [
        schemas.Workspace(id=w.id, name=w.name, role=roles[w.id], created_at=w.created_at)
        for w in workspaces
    ]
    return Page(items=items, next_cursor=next_cursor)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_workspace(
    body: schemas.WorkspaceCreate, caller: CurrentCaller, session: DbSession
) -> schemas.Workspace:
    """Create a workspace; you become its owner and it becomes your current one."""
    workspace, membership = await service.create_workspace(session, caller.user, body.name)
    return schemas.Workspace(
        id=workspace.id, name=workspace.name, role=membership.role, created_at=workspace.created_at
    )


@router.get("/{workspace_id}")
async def get_workspace(access: ViewerAccess) -> schemas.Workspace:
    """One workspace you belong to."""
    return _workspace_view(access.workspace, access.membership.role)


@router.patch("/{workspace_id}")
async def update_workspace(
    body: schemas.WorkspaceUpdate, access: AdminAccess, session: DbSession
) -> schemas.Workspace:
    """Rename the workspace (admins and owners)."""
    workspace = await service.rename_workspace(session, access.workspace, body.name)
    return _workspace_view(workspace, access.membership.role)


@router.delete("/{workspace_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_workspace(
    body: schemas.WorkspaceDeletion, request: Request, access: OwnerAccess, session: DbSession
) -> Response:
    """Delete the workspace and everything in it — posts, accounts and their credentials,
    media files, analytics, notes, webhooks, memberships (owners only; `confirm_name` must be
    the workspace's name). It cannot be undone: export it first."""
    orphaned = await delete_workspace_for_real(session, access.workspace, body.confirm_name)
    held = resources(request)
    # Files go after the response, i.e. after the deletion is committed.
    cleanup = BackgroundTask(remove_deleted_files, held.media_storage, held.engine, orphaned)
    return Response(status_code=status.HTTP_204_NO_CONTENT, background=cleanup)


@router.get(
    "/{workspace_id}/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "A zip archive: JSON files and media files, with `manifest.json` "
            "(format in docs/export.md).",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def export_workspace(request: Request, access: AdminAccess) -> StreamingResponse:
    """Everything in the workspace as one zip (admins and owners): posts with their targets,
    media, comments, deliveries and attempts; the media files; accounts without credentials;
    analytics snapshots; goals and challenges; notes; webhooks without secrets. Streamed as it
    is written."""
    held = resources(request)
    name = archive_name(access.workspace.name)
    return StreamingResponse(
        export_chunks(held.session_factory, held.media_storage, access.workspace.id),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/{workspace_id}/members")
async def list_members(
    access: ViewerAccess, session: DbSession, page: Pagination
) -> Page[schemas.Member]:
    """Who belongs to the workspace, and with which role."""
    rows, next_cursor = await repository.page_of_members(session, access.workspace.id, page)
    return Page(items=[_member_view(m, u) for m, u in rows], next_cursor=next_cursor)


@router.patch("/{workspace_id}/members/{user_id}")
async def update_member(
    user_id: uuid.UUID, body: schemas.MemberUpdate, access: AdminAccess, session: DbSession
) -> schemas.Member:
    """Change a member's role (admins and owners; only owners grant or remove ownership)."""
    membership = await service.change_member_role(
        session, access.workspace.id, access.membership, user_id, body.role
    )
    user = (await repository.users_by_id(session, [user_id]))[user_id]
    return _member_view(membership, user)


@router.delete("/{workspace_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(user_id: uuid.UUID, access: ViewerAccess, session: DbSession) -> None:
    """Remove a member (admins and owners), or leave the workspace yourself."""
    await service.remove_member(session, access.workspace.id, access.membership, user_id)


@router.get("/{workspace_id}/invitations")
async def list_invitations(
    access: AdminAccess, session: DbSession, page: Pagination
) -> Page[schemas.Invitation]:
    """Invitation links of the workspace (admins and owners)."""
    invitations, next_cursor = await repository.page_of_invitations(
        session, access.workspace.id, page
    )
    return Page(
        items=[schemas.Invitation.model_validate(i) for i in invitations], next_cursor=next_cursor
    )


@router.post("/{workspace_id}/invitations", status_code=status.HTTP_201_CREATED)
async def create_invitation(
    body: schemas.InvitationCreate, request: Request, access: AdminAccess, session: DbSession
) -> schemas.InvitationCreated:
    """Create an invitation link; the link is in this answer only."""
    invitation, secret = await service.create_invitation(
        session,
        access.workspace.id,
        access.membership,
        role=body.role,
        email=body.email,
        days=body.expires_in_days,
    )
    url = f"{resources(request).settings.effective_public_url}/invite/{secret}"
    return schemas.InvitationCreated(
        invitation=schemas.Invitation.model_validate(invitation), url=url
    )


@router.delete(
    "/{workspace_id}/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_invitation(
    invitation_id: uuid.UUID, access: AdminAccess, session: DbSession
) -> None:
    """Withdraw an invitation link."""
    await service.delete_invitation(session, access.workspace.id, invitation_id)


def _workspace_view(workspace: Workspace, role: Role) -> schemas.Workspace:
    return schemas.Workspace(
        id=workspace.id, name=workspace.name, role=role, created_at=workspace.created_at
    )


def _member_view(membership: Membership, user: User) -> schemas.Member:
    return schemas.Member(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=membership.role,
        joined_at=membership.joined_at,
    )
