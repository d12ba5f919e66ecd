"""Every model, imported in one place so metadata (and Alembic) sees all tables."""

from postwizard.accounts.models import PostingSlot, SocialAccount
from postwizard.analytics.jobs import MetricJob
from postwizard.analytics.models import AccountStatsSnapshot, PostMetricSnapshot
from postwizard.auth.models import ApiToken, LoginSession, User
from postwizard.captions.models import CaptionGeneration, CaptionSettings
from postwizard.db.base import Base
from postwizard.growth.models import GrowthChallenge, GrowthGoal, StreakFreeze
from postwizard.media.models import Media
from postwizard.notes.models import Note, NoteColumn
from postwizard.notifications.models import (
    InstanceKey,
    Notification,
    NotificationPreference,
    OutboxAttempt,
    OutboxMessage,
    PushSubscription,
    WebhookEndpoint,
)
from postwizard.posts.models import ActivityEvent, Post, PostComment, PostMedia, PostTarget
from postwizard.publishing.models import Attempt, Delivery, WorkerHeartbeat
from postwizard.workspaces.models import Invitation, Membership, Workspace

__all__ = [
    "AccountStatsSnapshot",
    "ActivityEvent",
    "ApiToken",
    "Attempt",
    "Base",
    "CaptionGeneration",
    "CaptionSettings",
    "Delivery",
    "GrowthChallenge",
    "GrowthGoal",
    "InstanceKey",
    "Invitation",
    "LoginSession",
    "Media",
    "Membership",
    "MetricJob",
    "Note",
    "NoteColumn",
    "Notification",
    "NotificationPreference",
    "OutboxAttempt",
    "OutboxMessage",
    "Post",
    "PostComment",
    "PostMedia",
    "PostMetricSnapshot",
    "PostTarget",
    "PostingSlot",
    "PushSubscription",
    "SocialAccount",
    "StreakFreeze",
    "User",
    "WebhookEndpoint",
    "WorkerHeartbeat",
    "Workspace",
]
