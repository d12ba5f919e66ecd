"""`postwizard import`: the CSV importer run as a user, without the HTTP layer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.auth import repository as auth_repository
from postwizard.auth.service import Caller
from postwizard.errors import Forbidden, NotFound, PostWizardError
from postwizard.posts.csv_import import ImportReport, Progress, import_posts
from postwizard.workspaces import repository as workspaces_repository
from postwizard.workspaces.dependencies import WorkspaceAccess
from postwizard.workspaces.models import Role


async def run_import(
    session: AsyncSession,
    email: str,
    workspace: str | None,
    content: str,
    *,
    timezone: str,
    dry_run: bool,
    skip_invalid: bool,
    progress: Progress,
) -> ImportReport:
    user = await auth_repository.user_by_email(session, email)
    if user is None:
        raise NotFound(f"No user with email {email}.")
    pairs = await workspaces_repository.memberships_of_user(session, user.id)
    chosen = [
        (w, m)
        for w, m in pairs
        if (workspace is None and w.id == user.current_workspace_id)
        or (workspace is not None and (w.name == workspace or str(w.id) == workspace))
    ]
    if workspace is None and not chosen and pairs:
        chosen = [pairs[0]]
    if not chosen:
        names = ", ".join(f"“{w.name}”" for w, _ in pairs) or "none"
        raise NotFound(f"{email} is not a member of a workspace “{workspace}”; theirs: {names}.")
    if len(chosen) > 1:
        raise PostWizardError(f"Several workspaces are called “{workspace}”; give its id instead.")
    found, membership = chosen[0]
    if not membership.role.at_least(Role.ADMIN):
        raise Forbidden(
            f"Importing needs the admin role in “{found.name}”; {email} is {membership.role.value}."
        )
    access = WorkspaceAccess(
        workspace=found, membership=membership, caller=Caller(user=user, via="cli")
    )
    try:
        return await import_posts(
            session,
            access,
            content,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            default_timezone=timezone,
            progress=progress,
        )
    except ValueError as error:  # an unknown --timezone
        raise PostWizardError(str(error)) from None
