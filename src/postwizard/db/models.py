"""Every model, imported in one place so metadata (and Alembic) sees all tables."""

from postwizard.accounts.models import PostingSlot, SocialAccount
from postwizard.auth.models import ApiToken, LoginSession, User
from postwizard.db.base import Base
from postwizard.media.models import Media
from postwizard.posts.models import ActivityEvent, Post, PostComment, PostMedia, PostTarget
from postwizard.publishing.models import Attempt, Delivery, WorkerHeartbeat
from postwizard.workspaces.models import Invitation, Membership, Workspace

__all__ = [
    "ActivityEvent",
    "ApiToken",
    "Attempt",
    "Base",
    "Delivery",
    "Invitation",
    "LoginSession",
    "Media",
    "Membership",
    "Post",
    "PostComment",
    "PostMedia",
    "PostTarget",
    "PostingSlot",
    "SocialAccount",
    "User",
    "WorkerHeartbeat",
    "Workspace",
]
