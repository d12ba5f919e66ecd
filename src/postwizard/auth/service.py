"""Rules for signing up, signing in, and managing API tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.auth import repository, schemas
from postwizard.auth.models import ApiToken, LoginSession, User
from postwizard.auth.secrets import digest, hash_password, new_secret, verify_password
from postwizard.db.base import utcnow
from postwizard.errors import Conflict, NotFound, PostWizardError, Unauthenticated
from postwizard.workspaces import repository as workspaces_repository
from postwizard.workspaces.schemas import Workspace as WorkspaceSchema

SESSION_PREFIX = "pws_"
TOKEN_PREFIX = "pw_"  # noqa: S105 - a prefix, not a secret
TOKEN_DISPLAY_CHARS = 10
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class Caller:
    """Who is calling, and how they proved it."""

    user: User
    via: Literal["session", "token", "cli"]
    login: LoginSession | None = None
    token: ApiToken | None = None


async def create_user(session: AsyncSession, *, email: str, password: str, name: str) -> User:
    email = email.lower()
    if await repository.user_by_email(session, email) is not None:
        raise Conflict(
            f"An account with {email} already exists; sign in instead.",
            code="email_taken",
            fields=[{"field": "email", "message": "already registered"}],
        )
    user = User(email=email, name=name, password_hash=hash_password(password))
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User:
    user = await repository.user_by_email(session, email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthenticated("Email or password is wrong.", code="invalid_credentials")
    return user


async def start_login(session: AsyncSession, user: User, *, days: int, user_agent: str) -> str:
    """Create a login session and return the secret for the cookie."""
    secret = new_secret(SESSION_PREFIX)
    session.add(
        LoginSession(
            user_id=user.id,
            token_hash=digest(secret),
            expires_at=utcnow() + timedelta(days=days),
            user_agent=user_agent[:400],
        )
    )
    await session.flush()
    return secret


async def caller_from_session_cookie(session: AsyncSession, secret: str) -> Caller | None:
    found = await repository.user_of_live_login(session, digest(secret), utcnow())
    return Caller(user=found[0], via="session", login=found[1]) if found else None


async def caller_from_bearer(session: AsyncSession, secret: str) -> Caller | None:
    found = await repository.user_of_live_token(session, digest(secret), utcnow())
    if found is None:
        return None
    user, token = found
    now = utcnow()
    # Precise to a minute is enough to spot unused tokens, and it spares a write per request.
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        token.last_used_at = now
    return Caller(user=user, via="token", token=token)


async def end_login(session: AsyncSession, caller: Caller) -> None:
    if caller.login is not None:
        await repository.delete_login(session, caller.login.id)


async def change_password(session: AsyncSession, caller: Caller, *, current: str, new: str) -> None:
    if not verify_password(caller.user.password_hash, current):
        raise PostWizardError(
            "The current password is wrong.",
            code="wrong_password",
            fields=[{"field": "current_password", "message": "does not match"}],
        )
    caller.user.password_hash = hash_password(new)
    # Other browsers signed in with the old password are signed out.
    await repository.delete_other_logins(
        session, caller.user.id, caller.login.id if caller.login else None
    )
    await session.flush()


async def create_token(
    session: AsyncSession, user: User, *, name: str, expires_in_days: int | None
) -> tuple[ApiToken, str]:
    secret = new_secret(TOKEN_PREFIX)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[:TOKEN_DISPLAY_CHARS],
        token_hash=digest(secret),
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(token)
    await session.flush()
    return token, secret


async def revoke_token(session: AsyncSession, user: User, token_id: uuid.UUID) -> None:
    """Delete the token: the next request that presents it is refused."""
    token = await repository.token_of_user(session, user.id, token_id)
    if token is None:
        raise NotFound("No such API token.")
    await session.delete(token)
    await session.flush()


async def describe(session: AsyncSession, user: User) -> schemas.Me:
    """The caller with their workspaces; the current one falls back to the first they belong to."""
    pairs = await workspaces_repository.memberships_of_user(session, user.id)
    workspaces = [
        WorkspaceSchema(id=w.id, name=w.name, role=m.role, created_at=w.created_at)
        for w, m in pairs
    ]
    ids = {w.id for w in workspaces}
    current = user.current_workspace_id if user.current_workspace_id in ids else None
    if current is None and workspaces:
        current = workspaces[0].id
    return schemas.Me(
        user=schemas.User.model_validate(user), workspaces=workspaces, current_workspace_id=current
    )


async def update_me(session: AsyncSession, user: User, update: schemas.MeUpdate) -> None:
    if update.name is not None:
        user.name = update.name
    if update.current_workspace_id is not None:
        if (
            await workspaces_repository.membership(session, update.current_workspace_id, user.id)
            is None
        ):
            raise NotFound(
                "No such workspace, or you are not a member of it.",
                fields=[{"field": "current_workspace_id", "message": "not one of your workspaces"}],
            )
        user.current_workspace_id = update.current_workspace_id
    await session.flush()
