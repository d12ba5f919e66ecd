"""Connecting a Bluesky account (handle or DID + app password, on any PDS) and renewing its
session without the person.

App passwords, not the account password: an app password can post but cannot change the
account's settings or delete it, and the person can revoke it alone (Bluesky: Settings →
Privacy and security → App passwords). A PDS marks sessions opened with the account password
by their JWT scope, so PostWizard refuses those instead of storing the account password.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from postwizard.platforms.bluesky.errors import ACCOUNT_GONE_ERRORS, TOKEN_ERRORS, classify
from postwizard.platforms.bluesky.identity import (
    is_did,
    normalize_identifier,
    pds_of,
    resolve_handle,
)
from postwizard.platforms.bluesky.session import (
    ACCESS_JWT,
    APP_PASSWORD,
    DID,
    HANDLE,
    IDENTIFIER,
    PDS_URL,
    REFRESH_JWT,
    is_full_access,
    refresh_token_usable,
    session_credentials,
)
from postwizard.platforms.bluesky.xrpc import Xrpc, XrpcFailure
from postwizard.platforms.protocol import (
    AuthExpiredError,
    ConnectedAccount,
    ConnectError,
    ConnectField,
    PlatformError,
    TransientError,
)

FIELD_IDENTIFIER = "identifier"
FIELD_APP_PASSWORD = "app_password"  # noqa: S105 (a field name)
FIELD_SERVICE_URL = "service_url"

CONNECT_FIELDS = (
    ConnectField(
        name=FIELD_IDENTIFIER,
        label="Handle or DID",
        help="Your full Bluesky handle, e.g. alice.bsky.social, or your DID (did:plc:…).",
        placeholder="alice.bsky.social",
    ),
    ConnectField(
        name=FIELD_APP_PASSWORD,
        label="App password",
        kind="password",
        help="Not your account password: create an app password in Bluesky under Settings → "
        "Privacy and security → App passwords (it looks like xxxx-xxxx-xxxx-xxxx; leave "
        "direct-message access off). It can post for you but cannot change or delete your "
        "account, and you can revoke it there at any time.",
        placeholder="xxxx-xxxx-xxxx-xxxx",
    ),
    ConnectField(
        name=FIELD_SERVICE_URL,
        label="Hosting provider",
        kind="url",
        help="Leave empty for Bluesky (bsky.social). For an account on a self-hosted or other "
        "PDS, the URL of that server. PostWizard finds your PDS from your handle either way.",
        placeholder="https://bsky.social",
        required=False,
    ),
)

CREATE_SESSION = "com.atproto.server.createSession"
REFRESH_SESSION = "com.atproto.server.refreshSession"
DELETE_SESSION = "com.atproto.server.deleteSession"
GET_PROFILE = "app.bsky.actor.getProfile"


async def connect_account(
    xrpc: Xrpc, form: Mapping[str, str], *, default_service_url: str, plc_directory_url: str
) -> ConnectedAccount:
    """Sign in with the form's handle/DID and app password; the account and its credentials.
    Raises `ConnectError` naming the field at fault (None when Bluesky itself failed)."""
    identifier = _identifier(form)
    password = (form.get(FIELD_APP_PASSWORD) or "").strip()
    if not password:
        raise ConnectError("Enter an app password.", field=FIELD_APP_PASSWORD)
    service_url = _service_url(form.get(FIELD_SERVICE_URL) or default_service_url)

    did = identifier if is_did(identifier) else None
    if did is None and "@" not in identifier:
        try:
            did = await resolve_handle(xrpc, service_url, identifier)
        except XrpcFailure as failure:
            raise _unreachable(failure, service_url, field=FIELD_SERVICE_URL) from failure
        if did is None:
            raise ConnectError(
                f"No account has the handle @{identifier} on {service_url}. Check the handle "
                "(with its domain, e.g. alice.bsky.social) and, for a self-hosted account, the "
                "hosting provider.",
                field=FIELD_IDENTIFIER,
            )
    pds_url = (await pds_of(xrpc, did, plc_directory_url) if did else None) or service_url

    try:
        answer = await xrpc.procedure(
            pds_url, CREATE_SESSION, body={"identifier": identifier, "password": password}
        )
    except XrpcFailure as failure:
        raise _sign_in_error(failure, pds_url, is_service=pds_url == service_url) from failure
    credentials = session_credentials(answer, pds_url=pds_url)
    if is_full_access(credentials[ACCESS_JWT]):
        await _sign_out(xrpc, credentials)
        raise ConnectError(
            "That is your account password. PostWizard needs an app password instead: create "
            "one in Bluesky under Settings → Privacy and security → App passwords.",
            field=FIELD_APP_PASSWORD,
        )
    profile = await _profile(xrpc, credentials)
    handle = credentials[HANDLE] or str(profile.get("handle") or "") or credentials[DID]
    return ConnectedAccount(
        remote_id=credentials[DID],
        handle=handle,
        display_name=str(profile.get("displayName") or "") or handle,
        credentials={IDENTIFIER: identifier, APP_PASSWORD: password, **credentials},
        options={"service_url": service_url, "pds_url": credentials[PDS_URL]},
    )


async def renew_session(
    xrpc: Xrpc, credentials: Mapping[str, str], now: datetime
) -> dict[str, str]:
    """New session credentials: `refreshSession` with the refresh JWT, or, when that has
    expired or was revoked, a new sign-in with the stored app password. Raises
    `AuthExpiredError` only when Bluesky refuses the app password (revoked) or the account."""
    pds_url = credentials.get(PDS_URL) or ""
    if not pds_url:
        raise AuthExpiredError("The Bluesky account has no stored session; reconnect it.")
    if refresh_token_usable(credentials, now):
        try:
            answer = await xrpc.procedure(pds_url, REFRESH_SESSION, token=credentials[REFRESH_JWT])
            return session_credentials(answer, pds_url=pds_url)
        except XrpcFailure as failure:
            if failure.error in ACCOUNT_GONE_ERRORS:
                raise classify(failure, what="the session renewal") from failure
            if failure.error not in TOKEN_ERRORS and failure.status != 401:
                raise _renewal_error(failure) from failure
            # The refresh JWT expired or was revoked: sign in again with the app password.
    identifier = credentials.get(DID) or credentials.get(IDENTIFIER) or ""
    password = credentials.get(APP_PASSWORD) or ""
    if not identifier or not password:
        raise AuthExpiredError(
            "The Bluesky session ended and no app password is stored; reconnect."
        )
    try:
        answer = await xrpc.procedure(
            pds_url, CREATE_SESSION, body={"identifier": identifier, "password": password}
        )
    except XrpcFailure as failure:
        status = failure.status
        if status is not None and status != 429 and status < 500:
            raise AuthExpiredError(
                f"Bluesky no longer accepts this account's app password ({failure.message}); "
                "it may have been revoked. Reconnect the account with a new app password.",
                http_status=failure.status,
            ) from failure
        raise _renewal_error(failure) from failure
    return session_credentials(answer, pds_url=pds_url)


def _renewal_error(failure: XrpcFailure) -> PlatformError:
    """A renewal that failed without a verdict on the credentials: worth retrying."""
    error = classify(failure, what="the session renewal")
    if isinstance(error, AuthExpiredError | TransientError) or error.http_status == 429:
        return error
    # A 4xx that is not about the credentials (a PDS bug, a proxy) says nothing about them.
    return TransientError(error.message, http_status=error.http_status)


def _identifier(form: Mapping[str, str]) -> str:
    raw = (form.get(FIELD_IDENTIFIER) or "").strip()
    if not raw:
        raise ConnectError("Enter your Bluesky handle or DID.", field=FIELD_IDENTIFIER)
    try:
        return normalize_identifier(raw)
    except ValueError as error:
        raise ConnectError(str(error), field=FIELD_IDENTIFIER) from error


def _service_url(raw: str) -> str:
    url = raw.strip().rstrip("/")
    if "://" not in url:
        url = f"https://{url}"
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query:
        raise ConnectError(
            f"{raw.strip()!r} is not the URL of a Bluesky server (e.g. https://bsky.social).",
            field=FIELD_SERVICE_URL,
        )
    return url


def _unreachable(failure: XrpcFailure, url: str, *, field: str | None) -> ConnectError:
    if failure.answered:
        return ConnectError(
            f"{url} did not answer like a Bluesky server ({failure.status} {failure.error}: "
            f"{failure.message}).",
            field=field,
            http_status=failure.status,
        )
    return ConnectError(f"Could not reach {url}: {failure.message or failure.error}.", field=field)


def _sign_in_error(failure: XrpcFailure, pds_url: str, *, is_service: bool) -> ConnectError:
    if not failure.answered or (failure.status or 0) >= 500:
        # The PDS came from the account's DID document: an outage there is not the form's fault.
        return _unreachable(failure, pds_url, field=FIELD_SERVICE_URL if is_service else None)
    if failure.status == 429:
        minutes = max(1, round((failure.retry_after or 300) / 60))
        return ConnectError(
            f"Bluesky is limiting sign-ins for this account; try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
            http_status=429,
        )
    if failure.error == "AuthFactorTokenRequired":
        return ConnectError(
            "Bluesky asked for an e-mail sign-in code, which means this is your account password. "
            "Use an app password (Settings → Privacy and security → App passwords).",
            field=FIELD_APP_PASSWORD,
            http_status=failure.status,
        )
    if failure.error in ACCOUNT_GONE_ERRORS:
        return ConnectError(
            f"Bluesky says this account is not active: {failure.message}",
            field=FIELD_IDENTIFIER,
            http_status=failure.status,
        )
    if failure.status == 401:
        return ConnectError(
            "Bluesky did not accept this handle and app password. Check the app password "
            "(xxxx-xxxx-xxxx-xxxx, not your account password) and that it was not revoked.",
            field=FIELD_APP_PASSWORD,
            http_status=401,
        )
    return ConnectError(
        f"Bluesky refused the sign-in: {failure.message}",
        field=FIELD_IDENTIFIER,
        http_status=failure.status,
    )


async def _sign_out(xrpc: Xrpc, credentials: Mapping[str, str]) -> None:
    """End a session PostWizard will not keep (best effort: it expires by itself anyway)."""
    with contextlib.suppress(XrpcFailure):
        await xrpc.procedure(credentials[PDS_URL], DELETE_SESSION, token=credentials[REFRESH_JWT])


async def _profile(xrpc: Xrpc, credentials: Mapping[str, str]) -> dict[str, Any]:
    """The account's public profile, for its display name; empty if the app view has none yet
    (a brand-new account) or cannot be reached: connecting does not depend on it."""
    try:
        return await xrpc.query(
            credentials[PDS_URL],
            GET_PROFILE,
            params={"actor": credentials[DID]},
            token=credentials[ACCESS_JWT],
        )
    except XrpcFailure:
        return {}
