"""Connecting, reconnecting and OAuth-finishing accounts of any network, through the one
mechanism every adapter plugs into: a form (`FormConnector`) or an OAuth redirect
(`OAuthConnector`). The sandbox is a form network like Bluesky or Telegram, not a special case."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts import repository
from postwizard.accounts.credentials import (
    decrypt_credentials,
    encrypt_credentials,
    merge_credentials,
)
from postwizard.accounts.models import AccountStatus, SocialAccount
from postwizard.accounts.oauth_state import (
    OAUTH_STATE_LIFETIME,
    OAuthState,
    open_oauth_state,
    seal_oauth_state,
    with_state,
)
from postwizard.accounts.schemas import NetworkConnectField, NetworkInfo
from postwizard.api import API_PREFIX
from postwizard.errors import PostWizardError
from postwizard.platforms.limits import limits_for
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AuthExpiredError,
    ConnectedAccount,
    ConnectError,
    ConnectField,
    OAuthConnector,
    PermanentError,
    PlatformError,
)
from postwizard.platforms.registry import PlatformRegistry
from postwizard.realtime.events import queue_event
from postwizard.workspaces import repository as workspaces_repository
from postwizard.workspaces.models import Role

log = structlog.get_logger(__name__)

FORM_FIELD_PREFIX = "fields."


@dataclass(frozen=True)
class Connected:
    account: SocialAccount
    created: bool


def network_catalog(registry: PlatformRegistry) -> list[NetworkInfo]:
    """Every network, with how its accounts connect in this instance and its text limit."""
    catalog = []
    for network in Network:
        method = registry.connect_method(network)
        fields = registry.connector(network).connect_fields if method != "unavailable" else ()
        catalog.append(
            NetworkInfo(
                id=network,
                label=network.label,
                connect=method,
                unavailable_reason=(
                    registry.unavailable_reason(network) if method == "unavailable" else None
                ),
                connect_fields=[
                    NetworkConnectField(
                        name=f.name,
                        label=f.label,
                        kind=f.kind,
                        help=f.help,
                        placeholder=f.placeholder,
                        required=f.required,
                    )
                    for f in fields
                ],
                provides_metrics=registry.provides_metrics(network),
                max_text_length=limits_for(network).max_text_length,
            )
        )
    return catalog


def oauth_redirect_uri(public_url: str, network: Network) -> str:
    """Where the network sends the person back; registered with the network as is."""
    return f"{public_url}{API_PREFIX}/oauth/{network.value}/callback"


def checked_form(
    connect_fields: Sequence[ConnectField], given: Mapping[str, str], *, prefix: str
) -> dict[str, str]:
    """The form as the connector expects it: known fields only, values trimmed, required ones
    present. Refused before any network call, naming each field at fault."""
    known = {f.name: f for f in connect_fields}
    problems = [
        {"field": f"{prefix}{name}", "message": "unknown field; remove it"}
        for name in given
        if name not in known
    ]
    form = {name: value.strip() for name, value in given.items() if name in known}
    problems += [
        {"field": f"{prefix}{f.name}", "message": f"{f.label} is required."}
        for f in connect_fields
        if f.required and not form.get(f.name)
    ]
    if problems:
        summary = "; ".join(p["message"] for p in problems[:3])
        raise PostWizardError(
            f"Some fields are not valid — {summary}",
            code="validation_error",
            status_code=422,
            fields=problems,
        )
    return form


def connect_failure(error: PlatformError, network: Network, *, prefix: str) -> PostWizardError:
    """What a failed connect means for the person: their input (422, at the field when the
    adapter names it) or the network (502)."""
    if isinstance(error, ConnectError):
        fields = [{"field": f"{prefix}{error.field}", "message": error.message}]
        return PostWizardError(
            error.message,
            code="connect_failed",
            status_code=422,
            fields=fields if error.field else None,
        )
    if isinstance(error, AuthExpiredError | PermanentError):
        return PostWizardError(
            f"{network.label} refused: {error.message}", code="connect_failed", status_code=422
        )
    return PostWizardError(
        f"Could not reach {network.label} to connect the account: {error.message} "
        "Try again in a moment.",
        code="network_error",
        status_code=502,
    )


def reconnect_form(
    account: SocialAccount, connect_fields: Sequence[ConnectField], given: Mapping[str, str]
) -> dict[str, str]:
    """The connect form for `account`: what was given, and for every field left out what
    PostWizard knows (the account's options under the field's name, or its handle and display
    name). Secrets are never prefilled: they are what a reconnect replaces."""
    known: dict[str, object] = {
        "handle": account.handle,
        "display_name": account.display_name,
        **account.options,
    }
    form = dict(given)
    for field in connect_fields:
        if field.name in form or field.kind == "password":
            continue
        value = known.get(field.name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            form[field.name] = str(value)
    return form


async def connect_with_form(
    session: AsyncSession,
    registry: PlatformRegistry,
    workspace_id: uuid.UUID,
    network: Network,
    given: Mapping[str, str],
    *,
    timezone: str | None,
    secret_key: str,
    field_prefix: str = FORM_FIELD_PREFIX,
    account: SocialAccount | None = None,
) -> Connected:
    """Verify the form with the network and store the account; the same remote account connected
    again (or `account`, when reconnecting it) is updated rather than added twice."""
    connector = registry.connector(network)
    if isinstance(connector, OAuthConnector):
        raise PostWizardError(
            f"{network.label} accounts connect by signing in on {network.label}: ask for an "
            f"authorization address instead (POST .../accounts/connect/{network.value}/oauth).",
            code="connect_by_oauth",
        )
    form = checked_form(connector.connect_fields, given, prefix=field_prefix)
    try:
        connected = await connector.connect(form)
    except PlatformError as error:
        raise connect_failure(error, network, prefix=field_prefix) from None
    return await store_connected(
        session,
        workspace_id,
        network,
        connected,
        timezone=timezone,
        secret_key=secret_key,
        account=account,
    )


async def start_oauth(
    registry: PlatformRegistry,
    network: Network,
    given: Mapping[str, str],
    *,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    timezone: str | None,
    public_url: str,
    secret_key: str,
    now: datetime,
    account_id: uuid.UUID | None = None,
    field_prefix: str = FORM_FIELD_PREFIX,
) -> str:
    """The address to send the person to; everything the callback needs travels in its state."""
    connector = registry.connector(network)
    if not isinstance(connector, OAuthConnector):
        raise PostWizardError(
            f"{network.label} accounts connect with a form: send its fields to "
            f"POST .../accounts/connect/{network.value}.",
            code="connect_by_form",
        )
    form = checked_form(connector.connect_fields, given, prefix=field_prefix)
    placeholder = secrets.token_urlsafe(24)
    try:
        started = await connector.start_oauth(
            form, oauth_redirect_uri(public_url, network), placeholder
        )
    except PlatformError as error:
        raise connect_failure(error, network, prefix=field_prefix) from None
    state = OAuthState(
        workspace_id=workspace_id,
        user_id=user_id,
        network=network,
        timezone=timezone,
        expires_at=now + OAUTH_STATE_LIFETIME,
        pending=started.pending,
        account_id=account_id,
    )
    return with_state(started.authorize_url, placeholder, seal_oauth_state(secret_key, state))


async def reconnect(
    session: AsyncSession,
    registry: PlatformRegistry,
    account: SocialAccount,
    given: Mapping[str, str],
    *,
    user_id: uuid.UUID,
    public_url: str,
    secret_key: str,
    now: datetime,
) -> Connected | str:
    """Restore access to `account`: a form network is verified at once (the account, updated);
    an OAuth network answers the address to sign in at (a str)."""
    connector = registry.connector(account.network)
    form = reconnect_form(account, connector.connect_fields, given)
    if isinstance(connector, OAuthConnector):
        return await start_oauth(
            registry,
            account.network,
            form,
            workspace_id=account.workspace_id,
            user_id=user_id,
            timezone=None,
            public_url=public_url,
            secret_key=secret_key,
            now=now,
            account_id=account.id,
        )
    return await connect_with_form(
        session,
        registry,
        account.workspace_id,
        account.network,
        form,
        timezone=None,
        secret_key=secret_key,
        account=account,
    )


async def finish_oauth(
    session: AsyncSession,
    registry: PlatformRegistry,
    network: Network,
    *,
    user_id: uuid.UUID | None,
    state_token: str,
    code: str | None,
    error: str | None,
    error_description: str | None,
    public_url: str,
    secret_key: str,
    now: datetime,
) -> Connected:
    """Check the callback belongs to the person who started it, exchange the code and store the
    account. Every refusal is a `PostWizardError` whose message the Accounts page shows."""
    state = open_oauth_state(secret_key, state_token, now=now)
    if state.network != network:
        raise PostWizardError("This sign-in answer is for another network; start again.")
    if user_id is None:
        raise PostWizardError(
            "Sign in to PostWizard as the person who started connecting, then try again."
        )
    if user_id != state.user_id:
        raise PostWizardError(
            "This sign-in was started by someone else; connect the account from your own "
            "PostWizard session."
        )
    if error:
        if error == "access_denied":
            raise PostWizardError(
                f"Access was not granted on {network.label}; nothing was connected."
            )
        detail = f": {error_description}" if error_description else f" ({error})"
        raise PostWizardError(f"{network.label} did not authorize PostWizard{detail}.")
    if not code:
        raise PostWizardError(f"{network.label} sent no authorization code; start again.")
    membership = await workspaces_repository.membership(session, state.workspace_id, user_id)
    if membership is None or not membership.role.at_least(Role.ADMIN):
        raise PostWizardError("Only admins and owners of the workspace can connect accounts.")
    account = None
    if state.account_id is not None:
        account = await repository.account_in_workspace(
            session, state.workspace_id, state.account_id
        )
        if account is None or account.network != network:
            raise PostWizardError("The account being reconnected was removed meanwhile.")
    connector = registry.connector(network)
    if not isinstance(connector, OAuthConnector):
        raise PostWizardError(f"{network.label} no longer connects by signing in.")
    try:
        answer = await connector.finish_oauth(
            state.pending, code, oauth_redirect_uri(public_url, network)
        )
    except PlatformError as failure:
        raise connect_failure(failure, network, prefix=FORM_FIELD_PREFIX) from None
    # One sign-in may grant several accounts (Facebook pages, LinkedIn organizations).
    granted = [answer] if isinstance(answer, ConnectedAccount) else list(answer)
    if account is not None:
        # Reconnecting: the account being reconnected must be among those granted.
        granted = [c for c in granted if c.remote_id == account.remote_id] or granted[:1]
    if not granted:
        raise PostWizardError(
            f"{network.label} granted access to no account PostWizard can publish to; "
            "start again and choose at least one."
        )
    stored = [
        await store_connected(
            session,
            state.workspace_id,
            network,
            connected,
            timezone=state.timezone,
            secret_key=secret_key,
            account=account,
        )
        for connected in granted
    ]
    return stored[0]


async def store_connected(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    network: Network,
    connected: ConnectedAccount,
    *,
    timezone: str | None,
    secret_key: str,
    account: SocialAccount | None = None,
) -> Connected:
    """Add the account, or update the one it is (`account`, or the workspace's account with the
    same remote id): new credentials merged over the stored ones, status back to connected."""
    if account is None:
        account = await repository.account_by_remote_id(
            session, workspace_id, network, connected.remote_id
        )
    else:
        _check_same_remote_account(account, connected)
    overrides = _usable_overrides(network, connected.limit_overrides)
    if account is None:
        account = SocialAccount(
            workspace_id=workspace_id,
            network=network,
            display_name=connected.display_name or connected.handle,
            handle=connected.handle,
            timezone=timezone or "UTC",
            remote_id=connected.remote_id,
            options=dict(connected.options),
            limit_overrides=overrides,
            credentials_encrypted=encrypt_credentials(
                secret_key, merge_credentials({}, connected.credentials)
            ),
        )
        session.add(account)
        await session.flush()
        queue_event(session, workspace_id, "account.created", {"id": str(account.id)})
        return Connected(account, created=True)
    stored = _readable_credentials(secret_key, account)
    account.credentials_encrypted = encrypt_credentials(
        secret_key, merge_credentials(stored, connected.credentials)
    )
    # The display name stays: it is PostWizard's label for the account, which people rename.
    account.handle = connected.handle
    account.remote_id = connected.remote_id
    account.options = {**account.options, **connected.options}
    if overrides:
        account.limit_overrides = overrides
    if timezone:
        account.timezone = timezone
    account.status = AccountStatus.CONNECTED
    account.status_reason = None
    await session.flush()
    queue_event(session, workspace_id, "account.updated", {"id": str(account.id)})
    return Connected(account, created=False)


def _check_same_remote_account(account: SocialAccount, connected: ConnectedAccount) -> None:
    """Reconnecting must not silently swap the account for another one on the network."""
    if account.remote_id is not None:
        same = account.remote_id == connected.remote_id
    else:  # connected before remote ids were kept: the handle is all there is to compare
        same = account.handle.casefold() == connected.handle.casefold()
    if not same:
        raise PostWizardError(
            f"Those details sign in to {connected.handle}, not to {account.handle}. "
            "Reconnect with this account's own details, or add the other one as a new account.",
            code="different_account",
            status_code=422,
        )


def _readable_credentials(secret_key: str, account: SocialAccount) -> dict[str, str]:
    try:
        return decrypt_credentials(secret_key, account.credentials_encrypted)
    except PostWizardError:
        # Encrypted under an earlier secret key: reconnecting is exactly how that is repaired.
        return {}


def _usable_overrides(network: Network, overrides: Mapping[str, int]) -> dict[str, int]:
    """The network's own limits the limit checker accepts; an odd value from a server (zero,
    a limit the network does not have) is left out rather than breaking every draft."""
    usable: dict[str, int] = {}
    for key, value in overrides.items():
        try:
            limits_for(network, {key: value})
        except ValueError as error:
            log.warning("limit override ignored", network=network.value, reason=str(error))
            continue
        usable[key] = value
    return usable
