"""Bodies for setup, login, the caller's profile and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import EmailStr, Field

from postwizard.api.schemas import RequestBody, ResponseBody
from postwizard.workspaces.schemas import Workspace

PASSWORD_MIN = 10
Password = Field(
    min_length=PASSWORD_MIN, max_length=1024, description=f"At least {PASSWORD_MIN} characters."
)


class SetupState(ResponseBody):
    needs_setup: bool


class SetupRequest(RequestBody):
    email: EmailStr
    password: str = Password
    name: str = Field(min_length=1, max_length=200)
    workspace_name: str = Field(min_length=1, max_length=100)


class LoginRequest(RequestBody):
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)


class SignupRequest(RequestBody):
    """Accepting an invitation without an account creates one."""

    email: EmailStr
    password: str = Password
    name: str = Field(min_length=1, max_length=200)


class InvitationAccept(RequestBody):
    signup: SignupRequest | None = Field(
        default=None, description="Only when the caller is not signed in."
    )


class User(ResponseBody):
    id: uuid.UUID
    email: str
    name: str
    created_at: datetime


class Me(ResponseBody):
    user: User
    workspaces: list[Workspace]
    current_workspace_id: uuid.UUID | None


class MeUpdate(RequestBody):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    current_workspace_id: uuid.UUID | None = None


class PasswordChange(RequestBody):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Password


class AccountDeletion(RequestBody):
    password: str = Field(
        min_length=1, max_length=1024, description="Your current password, to confirm."
    )


class ApiToken(ResponseBody):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The first characters of the secret, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class ApiTokenCreate(RequestBody):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class ApiTokenCreated(ResponseBody):
    token: ApiToken
    secret: str = Field(description="Shown only now; send it as `Authorization: Bearer <secret>`.")
