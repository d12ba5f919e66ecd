"""Users and the two ways they prove who they are: login sessions and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from postwizard.db.base import Base, CreatedAtMixin, IdMixin


class User(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "user"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    # No foreign key: a stale value is harmless (it is checked against memberships on read).
    current_workspace_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class LoginSession(IdMixin, CreatedAtMixin, Base):
    """A browser login; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "login_session"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    user_agent: Mapped[str] = mapped_column(String(400), default="")


class ApiToken(IdMixin, CreatedAtMixin, Base):
    """A personal access token for `Authorization: Bearer`; shown once, stored hashed."""

    __tablename__ = "api_token"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
