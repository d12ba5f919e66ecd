"""Rules for social accounts. Real networks connect through their adapters (later issues);
the sandbox network needs nothing but a name."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts import repository, schemas
from postwizard.accounts.credentials import encrypt_credentials
from postwizard.accounts.models import AccountStatus, PostingSlot, SocialAccount
from postwizard.errors import NotFound, PostWizardError
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import PlatformError
from postwizard.platforms.sandbox import SandboxPlatform
from postwizard.realtime.events import queue_event


async def create_sandbox_account(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    body: schemas.SandboxAccountCreate,
    *,
    sandbox: SandboxPlatform,
    secret_key: str,
) -> SocialAccount:
    try:
        credentials = await sandbox.connect(body.handle, body.display_name)
    except PlatformError as error:
        raise PostWizardError(
            f"Could not create the sandbox account: {error.message}",
            code="sandbox_unavailable",
            status_code=502,
        ) from None
    account = SocialAccount(
        credentials_encrypted=encrypt_credentials(secret_key, credentials),
        workspace_id=workspace_id,
        network=Network.SANDBOX,
        display_name=body.display_name,
        handle=body.handle,
        timezone=body.timezone,
    )
    session.add(account)
    await session.flush()
    queue_event(session, workspace_id, "account.created", {"id": str(account.id)})
    return account


async def reconnect_sandbox_account(
    session: AsyncSession, account: SocialAccount, *, sandbox: SandboxPlatform, secret_key: str
) -> SocialAccount:
    """Sign in to the sandbox again (a new token), as a real network's OAuth reconnect would."""
    if account.network != Network.SANDBOX:
        raise PostWizardError(
            f"Reconnecting {account.network.label} accounts comes with its connect flow.",
            code="network_unavailable",
        )
    try:
        credentials = await sandbox.connect(account.handle, account.display_name)
    except PlatformError as error:
        raise PostWizardError(
            f"Could not reconnect: {error.message}", code="sandbox_unavailable", status_code=502
        ) from None
    account.credentials_encrypted = encrypt_credentials(secret_key, credentials)
    account.status = AccountStatus.CONNECTED
    account.status_reason = None
    await session.flush()
    queue_event(session, account.workspace_id, "account.updated", {"id": str(account.id)})
    return account


async def get_account(
    session: AsyncSession, workspace_id: uuid.UUID, account_id: uuid.UUID
) -> SocialAccount:
    account = await repository.account_in_workspace(session, workspace_id, account_id)
    if account is None:
        raise NotFound("No such account in this workspace.")
    return account


async def update_account(
    session: AsyncSession, account: SocialAccount, body: schemas.AccountUpdate
) -> None:
    if body.display_name is not None:
        account.display_name = body.display_name
    if body.timezone is not None:
        account.timezone = body.timezone
    if body.slots is not None:
        await repository.replace_slots(
            session, account.id, [(slot.weekday, slot.minute_of_day) for slot in body.slots]
        )
    await session.flush()
    queue_event(session, account.workspace_id, "account.updated", {"id": str(account.id)})


async def disconnect_account(session: AsyncSession, account: SocialAccount) -> None:
    await session.delete(account)
    await session.flush()
    queue_event(session, account.workspace_id, "account.removed", {"id": str(account.id)})


def describe(account: SocialAccount, slots: list[PostingSlot]) -> schemas.Account:
    return schemas.Account(
        id=account.id,
        network=account.network,
        display_name=account.display_name,
        handle=account.handle,
        timezone=account.timezone,
        status=account.status,
        status_reason=account.status_reason,
        limit_overrides=account.limit_overrides,
        slots=[
            schemas.Slot(
                weekday=s.weekday, time=f"{s.minute_of_day // 60:02d}:{s.minute_of_day % 60:02d}"
            )
            for s in slots
        ],
        created_at=account.created_at,
    )
