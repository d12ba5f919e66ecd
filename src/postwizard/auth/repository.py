"""Queries for users, login sessions and API tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.api.pagination import PageParams, paginate
from postwizard.auth.models import ApiToken, LoginSession, User


async def any_user_exists(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(exists().select_from(User))))


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.lower()))


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def user_of_live_login(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[User, LoginSession] | None:
    row = await session.execute(
        select(User, LoginSession)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.token_hash == token_hash, LoginSession.expires_at > now)
    )
    found = row.first()
    return (found[0], found[1]) if found else None


async def user_of_live_token(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[User, ApiToken] | None:
    row = await session.execute(
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash)
        .where((ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now))
    )
    found = row.first()
    return (found[0], found[1]) if found else None


async def delete_login(session: AsyncSession, login_id: uuid.UUID) -> None:
    await session.execute(delete(LoginSession).where(LoginSession.id == login_id))


async def delete_other_logins(
    session: AsyncSession, user_id: uuid.UUID, keep_login_id: uuid.UUID | None
) -> None:
    statement = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep_login_id is not None:
        statement = statement.where(LoginSession.id != keep_login_id)
    await session.execute(statement)


async def page_of_tokens(
    session: AsyncSession, user_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[ApiToken], str | None]:
    return await paginate(
        session, select(ApiToken).where(ApiToken.user_id == user_id), ApiToken.id, params
    )


async def token_of_user(
    session: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID
) -> ApiToken | None:
    return await session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
    )
