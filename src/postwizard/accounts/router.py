"""Social accounts of a workspace, their posting slots, and connecting them: the networks on
offer, the connect form, the OAuth redirect and its callback."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from postwizard.accounts import connecting, repository, schemas, service
from postwizard.api import API_PREFIX
from postwizard.api.pagination import Page, Pagination
from postwizard.api.resources import resources
from postwizard.auth.dependencies import CurrentCaller, OptionalCaller
from postwizard.db.base import utcnow
from postwizard.db.session import DbSession
from postwizard.errors import PostWizardError
from postwizard.platforms.networks import Network
from postwizard.workspaces.dependencies import AdminAccess, ViewerAccess

log = structlog.get_logger(__name__)

router = APIRouter(prefix=f"{API_PREFIX}/workspaces/{{workspace_id}}/accounts", tags=["accounts"])


@router.get("")
async def list_accounts(
    access: ViewerAccess, session: DbSession, page: Pagination
) -> Page[schemas.Account]:
    """The workspace's connected accounts, with their posting slots."""
    accounts, next_cursor = await repository.page_of_accounts(session, access.workspace.id, page)
    slots = await repository.slots_of_accounts(session, [a.id for a in accounts])
    return Page(items=[service.describe(a, slots[a.id]) for a in accounts], next_cursor=next_cursor)


@router.post(
    "/sandbox",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "The handle was connected before: that account, signed in again."}
    },
)
async def create_sandbox_account(
    body: schemas.SandboxAccountCreate,
    request: Request,
    response: Response,
    access: AdminAccess,
    session: DbSession,
) -> schemas.Account:
    """Add a sandbox account (a simulated network) to try PostWizard without a real one. The
    same as connecting the `sandbox` network with `handle` and `display_name`."""
    held = resources(request)
    connected = await connecting.connect_with_form(
        session,
        held.platforms,
        access.workspace.id,
        Network.SANDBOX,
        {"handle": body.handle, "display_name": body.display_name},
        timezone=body.timezone,
        secret_key=held.secret_key,
        field_prefix="",
    )
    return await _connected_answer(session, connected, response)


@router.post(
    "/connect/{network}",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "Connected before: that account, reconnected."}},
)
async def connect_account(
    network: Network,
    body: schemas.AccountConnect,
    request: Request,
    response: Response,
    access: AdminAccess,
    session: DbSession,
) -> schemas.Account:
    """Connect an account of a form network (`connect` is `form` in GET /networks) with its
    `connect_fields`. A field the network refuses comes back as a 422 naming `fields.<name>`;
    a network that does not answer, as a 502. Connecting the same remote account again updates
    it (200) instead of adding a second one."""
    held = resources(request)
    connected = await connecting.connect_with_form(
        session,
        held.platforms,
        access.workspace.id,
        network,
        body.fields,
        timezone=body.timezone,
        secret_key=held.secret_key,
    )
    return await _connected_answer(session, connected, response)


@router.post("/connect/{network}/oauth")
async def start_oauth_connect(
    network: Network,
    body: schemas.AccountConnect,
    request: Request,
    access: AdminAccess,
) -> schemas.AuthorizeRedirect:
    """Start connecting an account of an OAuth network (`connect` is `oauth`): send the person
    to `authorize_url`; the network returns them to GET /oauth/{network}/callback, which stores
    the account and redirects to the Accounts page. The address is valid for 15 minutes."""
    held = resources(request)
    url = await connecting.start_oauth(
        held.platforms,
        network,
        body.fields,
        workspace_id=access.workspace.id,
        user_id=access.caller.user.id,
        timezone=body.timezone,
        public_url=held.settings.effective_public_url,
        secret_key=held.secret_key,
        now=utcnow(),
    )
    return schemas.AuthorizeRedirect(authorize_url=url)


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
    account_id: uuid.UUID,
    request: Request,
    access: AdminAccess,
    session: DbSession,
    body: schemas.AccountReconnect | None = None,
) -> schemas.Account | schemas.AuthorizeRedirect:
    """Restore access to an account (needs reconnect, new password, ...). Form networks are
    verified at once with `fields` (a field left out keeps what PostWizard knows, secrets
    excepted; sandbox accounts need none) and answer the account; OAuth networks answer an
    `authorize_url` to sign in at. New credentials are merged over the stored ones; an empty
    value never replaces a stored one."""
    held = resources(request)
    account = await service.get_account(session, access.workspace.id, account_id)
    outcome = await connecting.reconnect(
        session,
        held.platforms,
        account,
        body.fields if body else {},
        user_id=access.caller.user.id,
        public_url=held.settings.effective_public_url,
        secret_key=held.secret_key,
        now=utcnow(),
    )
    if isinstance(outcome, str):
        return schemas.AuthorizeRedirect(authorize_url=outcome)
    slots = await repository.slots_of_accounts(session, [account.id])
    return service.describe(outcome.account, slots[account.id])


@router.delete("/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
async def disconnect_account(
    account_id: uuid.UUID, access: AdminAccess, session: DbSession
) -> None:
    """Disconnect the account (its posts keep their other targets)."""
    account = await service.get_account(session, access.workspace.id, account_id)
    await service.disconnect_account(session, account)


async def _connected_answer(
    session: DbSession, connected: connecting.Connected, response: Response
) -> schemas.Account:
    if not connected.created:
        response.status_code = status.HTTP_200_OK
    slots = await repository.slots_of_accounts(session, [connected.account.id])
    return service.describe(connected.account, slots[connected.account.id])


networks_router = APIRouter(prefix=f"{API_PREFIX}/networks", tags=["accounts"])


@networks_router.get("")
async def list_networks(request: Request, _caller: CurrentCaller) -> list[schemas.NetworkInfo]:
    """Every network, how its accounts connect in this instance (`form`, `oauth` or
    `unavailable`), the fields to fill in, whether it reports metrics, and its text limit."""
    return connecting.network_catalog(resources(request).platforms)


oauth_router = APIRouter(prefix=f"{API_PREFIX}/oauth", tags=["accounts"])


@oauth_router.get(
    "/{network}/callback",
    status_code=status.HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    responses={303: {"description": "To /accounts?connected=<id> or /accounts?error=<message>."}},
)
async def oauth_callback(
    network: Network,
    request: Request,
    caller: OptionalCaller,
    session: DbSession,
    state: Annotated[str, Query(max_length=8192)] = "",
    code: Annotated[str | None, Query(max_length=4096)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=1000)] = None,
) -> RedirectResponse:
    """Where the network sends the person back after they authorized (or declined) PostWizard.
    The state must be one this instance issued, unexpired, to the signed-in person."""
    held = resources(request)
    try:
        connected = await connecting.finish_oauth(
            session,
            held.platforms,
            network,
            user_id=caller.user.id if caller else None,
            state_token=state,
            code=code,
            error=error,
            error_description=error_description,
            public_url=held.settings.effective_public_url,
            secret_key=held.secret_key,
            now=utcnow(),
        )
    except PostWizardError as failure:
        log.info("oauth connect refused", network=network.value, reason=failure.code)
        query = urlencode({"error": failure.message})
        return RedirectResponse(f"/accounts?{query}", status_code=status.HTTP_303_SEE_OTHER)
    query = urlencode({"connected": str(connected.account.id)})
    return RedirectResponse(f"/accounts?{query}", status_code=status.HTTP_303_SEE_OTHER)
