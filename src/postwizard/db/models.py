"""Every model, imported in one place so metadata (and Alembic) sees all tables."""

from postwizard.auth.models import ApiToken, LoginSession, User
from postwizard.db.base import Base
from postwizard.workspaces.models import Invitation, Membership, Workspace

__all__ = ["ApiToken", "Base", "Invitation", "LoginSession", "Membership", "User", "Workspace"]
