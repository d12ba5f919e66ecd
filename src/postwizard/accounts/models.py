"""A social account a workspace publishes to; each network's adapter plugs in by `network`."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from postwizard.db.base import Base, CreatedAtMixin, FlexibleJSON, IdMixin, string_enum
from postwizard.platforms.networks import Network


class AccountStatus(StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    ERROR = "error"


class SocialAccount(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "social_account"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    network: Mapped[Network] = mapped_column(string_enum(Network, "network"))
    display_name: Mapped[str] = mapped_column(String(200))
    handle: Mapped[str] = mapped_column(String(320))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    status: Mapped[AccountStatus] = mapped_column(
        string_enum(AccountStatus, "account_status"), default=AccountStatus.CONNECTED
    )
    status_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    # Per-account limit overrides the network reports (e.g. a Mastodon instance's max characters).
    limit_overrides: Mapped[dict[str, Any]] = mapped_column(FlexibleJSON, default=dict)
    # The network's own id of the account (Mastodon account id, Bluesky DID, Telegram chat id,
    # Discord webhook id): connecting the same one again reconnects instead of duplicating.
    remote_id: Mapped[str | None] = mapped_column(String(320), default=None)
    # Network-specific facts from connecting (instance URL, PDS, chat title); not secrets.
    options: Mapped[dict[str, Any]] = mapped_column(FlexibleJSON, default=dict)
    # Encrypted with the instance key (accounts/credentials.py); never logged, never returned.
    credentials_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class PostingSlot(IdMixin, Base):
    """A weekly time ("Mondays 09:30") in the account's timezone that "add to queue" fills."""

    __tablename__ = "posting_slot"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_account.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday
    minute_of_day: Mapped[int] = mapped_column(SmallInteger)
