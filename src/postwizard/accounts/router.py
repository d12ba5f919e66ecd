"""Social accounts of a workspace and their posting slots."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from postwizard.accounts import repository, schemas, service
from postwizard.api import API_PREFIX
from postwizard.api.pagination import Page, Pagination
from postwizard.api.resources import resources
from postwizard.db.session import DbSession
from postwizard.workspaces.dependencies import AdminAccess, ViewerAccess

router = APIRouter(prefix=f"{API_PREFIX}/workspaces/{{workspace_id}}/accounts", tags=["accounts"])


@router.get("")
async def list_accounts(
    access: ViewerAccess, session: DbSession, page: Pagination
) -> Page[schemas.Account]:
    """The workspace's connected accounts, with their posting slots."""
    accounts, next_cursor = await repository.page_of_accounts(session, access.workspace.id, page)
    slots = await repository.slots_of_accounts(session, [a.id for a in accounts])
    return Page(items=[service.describe(a, slots[a.id]) for a in accounts], next_cursor=next_cursor)


@router.post("/sandbox", status_code=status.HTTP_201_CREATED)
async def create_sandbox_account(
    body: schemas.SandboxAccountCreate, request: Request, access: AdminAccess, session: DbSession
) -> schemas.Account:
    """Add a sandbox account (a simulated network) to try PostWizard without a real one."""
    held = resources(request)
    account = await service.create_sandbox_account(
        session,
        access.workspace.id,
        body,
        sandbox=held.platforms.sandbox,
        secret_key=held.secret_key,
    )
    return service.describe(account, [])


@router.get("/{account_id}")
async def get_account(
    account_id: uuid.UUID, access: ViewerAccess, session: DbSession
) -> schemas.Account:
    """One account."""
    account = await service.get_account(session, access.workspace.id, account_id)
    slots = await repository.slots_of_accounts(session, [account.id])
    return service.describe(account, slots[account.id])


@router.patch("/{account_id}")
async def update_account(
    account_id: uuid.UUID, body: schemas.AccountUpdate, access: AdminAccess, session: DbSession
) -> schemas.Account:
    """Rename, change the timezone, or replace the weekly posting slots."""
    account = await service.get_account(session, access.workspace.id, account_id)
    await service.update_account(session, account, body)
    slots = await repository.slots_of_accounts(session, [account.id])
    return service.describe(account, slots[account.id])


@router.post("/{account_id}/reconnect")
async def reconnect_account(
    account_id: uuid.UUID, request: Request, access: AdminAccess, session: DbSession
) -> schemas.Account:
    """Restore access to an account that needs reconnecting (sandbox accounts sign in again)."""
    held = resources(request)
    account = await service.get_account(session, access.workspace.id, account_id)
    await service.reconnect_sandbox_account(
        session, account, sandbox=held.platforms.sandbox, secret_key=held.secret_key
    )
    slots = await repository.slots_of_accounts(session, [account.id])
    return service.describe(account, slots[account.id])


@router.delete("/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
async def disconnect_account(
    account_id: uuid.UUID, access: AdminAccess, session: DbSession
) -> None:
    """Disconnect the account (its posts keep their other targets)."""
    account = await service.get_account(session, access.workspace.id, account_id)
    await service.disconnect_account(session, account)
