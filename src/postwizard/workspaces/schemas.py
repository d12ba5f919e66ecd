"""Workspace, member and invitation bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import EmailStr, Field

from postwizard.api.schemas import RequestBody, ResponseBody
from postwizard.workspaces.models import Role


class Workspace(ResponseBody):
    id: uuid.UUID
    name: str
    role: Role
    created_at: datetime


class WorkspaceCreate(RequestBody):
    name: str = Field(min_length=1, max_length=100)


class WorkspaceUpdate(RequestBody):
    name: str = Field(min_length=1, max_length=100)


class WorkspaceDeletion(RequestBody):
    confirm_name: str = Field(
        min_length=1, max_length=100, description="The workspace's name, typed to confirm."
    )


class Member(ResponseBody):
    user_id: uuid.UUID
    email: str
    name: str
    role: Role
    joined_at: datetime


class MemberUpdate(RequestBody):
    role: Role


class Invitation(ResponseBody):
    id: uuid.UUID
    role: Role
    email: str | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None


class InvitationCreate(RequestBody):
    role: Role = Role.EDITOR
    email: EmailStr | None = None
    expires_in_days: int = Field(default=7, ge=1, le=90)


class InvitationCreated(ResponseBody):
    invitation: Invitation
    url: str = Field(description="The link to share; it is shown only now.")


class InvitationPreview(ResponseBody):
    workspace_name: str
    role: Role
    expires_at: datetime
