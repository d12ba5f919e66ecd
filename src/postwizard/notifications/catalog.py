"""Which bus events become notifications, who receives them, and the defaults per channel."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from postwizard.notifications.models import Channel


class Audience(StrEnum):
    MEMBERS = "members"
    ADMINS = "admins"
    AUTHOR = "author"


@dataclass(frozen=True)
class NotificationType:
    type: str
    label: str
    audience: Audience
    email_by_default: bool


NOTIFICATION_TYPES: tuple[NotificationType, ...] = (
    NotificationType("post.published", "A post was published", Audience.MEMBERS, False),
    NotificationType(
        "post.partially_published", "A post went out on some networks only", Audience.MEMBERS, True
    ),
    NotificationType("post.failed", "A post could not be published", Audience.MEMBERS, True),
    NotificationType("delivery.failed", "Publishing to one network failed", Audience.MEMBERS, True),
    NotificationType(
        "account.needs_reconnect", "An account needs reconnecting", Audience.ADMINS, True
    ),
    NotificationType("post.submitted", "A post needs approval", Audience.ADMINS, True),
    NotificationType("post.approved", "Your post was approved", Audience.AUTHOR, False),
    NotificationType("post.rejected", "Your post was rejected", Audience.AUTHOR, True),
    NotificationType(
        "publishing.stalled", "Posts are due but no worker is running", Audience.ADMINS, True
    ),
    NotificationType(
        "webhook.disabled", "A webhook was disabled after failing", Audience.ADMINS, True
    ),
    # Growth (growth/watch.py): at risk asks for a post soon; good news waits for the app.
    NotificationType("goal.reached", "A goal was reached", Audience.MEMBERS, False),
    NotificationType("goal.at_risk", "A goal is at risk", Audience.MEMBERS, True),
    NotificationType(
        "streak.at_risk", "Your posting streak breaks tonight", Audience.MEMBERS, True
    ),
    NotificationType("challenge.completed", "A challenge was completed", Audience.MEMBERS, False),
)
BY_TYPE = {kind.type: kind for kind in NOTIFICATION_TYPES}
EVENT_TYPES = tuple(BY_TYPE)
WEBHOOK_TEST_EVENT = "webhook.test"


def default_enabled(event_type: str, channel: Channel) -> bool:
    """In-app: everything; email and pushes (Web Push, FCM): what needs someone to act."""
    if channel is Channel.IN_APP:
        return True
    kind = BY_TYPE.get(event_type)
    return kind is not None and kind.email_by_default
