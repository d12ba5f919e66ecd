"""Notification tables: the in-app feed, per-user preferences, webhook endpoints, push
subscriptions (browsers and app devices), the instance's VAPID key, and the durable outbox of
emails, webhook calls and pushes that workers claim with leases."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from postwizard.db.base import Base, CreatedAtMixin, FlexibleJSON, IdMixin, string_enum, utcnow


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    WEB_PUSH = "web_push"
    FCM = "fcm"


class OutboxKind(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    WEB_PUSH = "web_push"
    FCM = "fcm"


class PushKind(StrEnum):
    """Where a push subscription receives: a browser (Web Push) or an app (FCM)."""

    WEB_PUSH = "web_push"
    FCM = "fcm"


class OutboxState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DELIVERED = "delivered"
    FAILED = "failed"


class Notification(IdMixin, CreatedAtMixin, Base):
    """One entry of a person's in-app feed."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_id_read_at", "user_id", "read_at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(FlexibleJSON, default=dict)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    # Every process of a Redis deployment sees each event; the key makes the first write win.
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)


class NotificationPreference(Base):
    """A person's choice for one event type on one channel (no row: the default applies)."""

    __tablename__ = "notification_preference"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    event_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[Channel] = mapped_column(
        string_enum(Channel, "notification_channel", length=16), primary_key=True
    )
    enabled: Mapped[bool]


class WebhookEndpoint(IdMixin, CreatedAtMixin, Base):
    """A URL of the workspace's that receives the chosen events, signed with its own secret."""

    __tablename__ = "webhook_endpoint"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[str]] = mapped_column(FlexibleJSON, default=list)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    consecutive_failures: Mapped[int] = mapped_column(default=0)


class PushSubscription(IdMixin, CreatedAtMixin, Base):
    """A browser's Web Push subscription or an app's FCM registration token, of one person.

    `target` is the push service endpoint URL (Web Push) or the registration token (FCM); it is
    unique: a browser that signs in as someone else moves its subscription to them."""

    __tablename__ = "push_subscription"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[PushKind] = mapped_column(string_enum(PushKind, "push_kind", length=16))
    target: Mapped[str] = mapped_column(String(2000), unique=True)
    # The browser's ECDH public key and auth secret (base64url); None for FCM tokens.
    p256dh: Mapped[str | None] = mapped_column(String(200), default=None)
    auth: Mapped[str | None] = mapped_column(String(100), default=None)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)


class InstanceKey(CreatedAtMixin, Base):
    """A key pair the instance generates once (the VAPID key of Web Push); the private half
    sealed with the instance secret key."""

    __tablename__ = "instance_key"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(200))
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)


class OutboxMessage(IdMixin, CreatedAtMixin, Base):
    """An email, webhook call or push still to make (or made): the durable queue of
    notifications."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        Index("ix_notification_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[OutboxKind] = mapped_column(string_enum(OutboxKind, "notification_outbox_kind"))
    endpoint_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), default=None, index=True
    )
    # Pushes: the subscription; an unsubscribed one leaves its log (the message ends failed).
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("push_subscription.id", ondelete="SET NULL"), default=None, index=True
    )
    recipient: Mapped[str | None] = mapped_column(String(320), default=None)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(FlexibleJSON)
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    state: Mapped[OutboxState] = mapped_column(
        string_enum(OutboxState, "notification_outbox_state"), default=OutboxState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class OutboxAttempt(IdMixin, Base):
    """One try at delivering an outbox message: the webhook delivery log."""

    __tablename__ = "notification_attempt"

    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_outbox.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[int] = mapped_column(default=0)
