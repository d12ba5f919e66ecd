"""Bodies of the notification API: feed, preferences, webhook endpoints and their log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, Field, field_validator

from postwizard.api.schemas import RequestBody, ResponseBody
from postwizard.notifications.catalog import EVENT_TYPES
from postwizard.notifications.models import PushKind


class Notification(ResponseBody):
    id: uuid.UUID
    type: str
    title: str
    body: str
    link: str | None
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class Feed(ResponseBody):
    items: list[Notification]
    unread: int


class UnreadCount(ResponseBody):
    unread: int


class MarkRead(RequestBody):
    ids: list[uuid.UUID] | None = Field(
        default=None, max_length=500, description="Which to mark read; omitted: all."
    )


class NotificationType(ResponseBody):
    type: str
    label: str


class Preference(ResponseBody):
    event_type: str
    label: str
    in_app: bool
    email: bool
    web_push: bool
    fcm: bool


class Preferences(ResponseBody):
    items: list[Preference]
    email_available: bool
    fcm_available: bool = Field(
        description="Whether this server can push to the Android app (FCM is configured)."
    )


def _known_event(value: str) -> str:
    if value not in EVENT_TYPES:
        raise ValueError(f"unknown event type {value!r}; known: {', '.join(EVENT_TYPES)}")
    return value


class PreferenceUpdate(RequestBody):
    event_type: str
    in_app: bool | None = None
    email: bool | None = None
    web_push: bool | None = None
    fcm: bool | None = None

    _check_event = field_validator("event_type")(_known_event)


class PreferencesUpdate(RequestBody):
    items: list[PreferenceUpdate] = Field(max_length=100)


def _known_events(values: list[str]) -> list[str]:
    for value in values:
        _known_event(value)
    return list(dict.fromkeys(values))


class WebhookCreate(RequestBody):
    url: AnyHttpUrl
    description: str = Field(default="", max_length=200)
    events: list[str] = Field(min_length=1, max_length=50)

    _check_events = field_validator("events")(_known_events)


class WebhookUpdate(RequestBody):
    url: AnyHttpUrl | None = None
    description: str | None = Field(default=None, max_length=200)
    events: list[str] | None = Field(default=None, min_length=1, max_length=50)
    enabled: bool | None = None

    @field_validator("events")
    @classmethod
    def _check_events(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _known_events(values)


class Webhook(ResponseBody):
    id: uuid.UUID
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    created_at: datetime


class WebhookCreated(Webhook):
    secret: str = Field(description="The signing secret; shown this once.")


class WebhookAttempt(ResponseBody):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookDelivery(ResponseBody):
    id: uuid.UUID
    event_type: str
    state: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime
    delivered_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]
    log: list[WebhookAttempt]


# Push subscriptions


class WebPushKey(ResponseBody):
    public_key: str = Field(
        description="The instance's VAPID public key (base64url P-256 point): the "
        "`applicationServerKey` for `PushManager.subscribe`."
    )


class WebPushKeys(RequestBody):
    p256dh: str = Field(min_length=1, max_length=200, description="The browser's ECDH key.")
    auth: str = Field(min_length=1, max_length=100, description="The browser's auth secret.")


class WebPushSubscriptionCreate(RequestBody):
    """`PushSubscription.toJSON()` of the browser, without `expirationTime`."""

    endpoint: str = Field(min_length=1, max_length=2000)
    keys: WebPushKeys


class FcmTokenCreate(RequestBody):
    token: str = Field(
        min_length=20,
        max_length=2000,
        pattern=r"^[A-Za-z0-9_:\-]+$",
        description="The app's FCM registration token.",
    )


class PushSubscription(ResponseBody):
    id: uuid.UUID
    kind: PushKind
    target: str = Field(description="The push endpoint URL (web_push) or registration token (fcm).")
    user_agent: str
    created_at: datetime
    last_success_at: datetime | None
