"""Connecting a Mastodon account: register PostWizard on the person's server, send them to
authorize it, exchange the code for a token, and read who they are and what their server allows.

Every server is its own OAuth provider, so PostWizard registers itself on each one
(`POST /api/v1/apps`) when someone first connects from it; the client id and secret travel in
`OAuthStart.pending` (kept server-side) to the callback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from postwizard.platforms.limits import limits_for
from postwizard.platforms.mastodon.api import MastodonApi
from postwizard.platforms.mastodon.instance_url import INSTANCE_URL_FIELD
from postwizard.platforms.networks import Network
from postwizard.platforms.oauth2 import authorization_url, code_grant
from postwizard.platforms.protocol import (
    ConnectedAccount,
    ConnectError,
    PlatformError,
)

# `GET /api/v2/instance` names -> `limits_for` override keys (the same names: limits.py takes
# them as aliases). image_matrix_limit has no counterpart in Mastodon's NetworkLimits.
_STATUS_LIMITS = ("max_characters", "max_media_attachments", "characters_reserved_per_url")
_MEDIA_LIMITS = ("image_size_limit", "video_size_limit")
# Answers to POST /api/v1/apps from a web server that is not a Mastodon server.
_NOT_MASTODON = frozenset({401, 403, 404, 405, 410, 501})


async def register_app(
    api: MastodonApi,
    *,
    client_name: str,
    redirect_uri: str,
    scopes: str,
    website: str | None,
) -> tuple[str, str]:
    """The `client_id` and `client_secret` of PostWizard registered on `api`'s server."""
    data = {"client_name": client_name, "redirect_uris": redirect_uri, "scopes": scopes}
    if website:
        data["website"] = website
    try:
        response = await api.call("POST", "/api/v1/apps", data=data, what="registering PostWizard")
    except PlatformError as error:
        status = error.http_status
        if status is None:  # not reached: most often a mistyped address
            raise ConnectError(error.message, field=INSTANCE_URL_FIELD) from error
        if status in _NOT_MASTODON:
            raise ConnectError(
                f"{api.host} does not look like a Mastodon server, or does not let apps "
                f"register (it answered {status} to POST /api/v1/apps). Check the address.",
                field=INSTANCE_URL_FIELD,
                http_status=status,
            ) from error
        # 422 (our redirect URI or scopes), 429, 5xx: not the person's typing.
        raise ConnectError(error.message, http_status=status) from error
    app = _json_object(response)
    client_id, client_secret = app.get("client_id"), app.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        raise ConnectError(
            f"{api.host} answered the app registration without a client id and secret; it does "
            "not look like a Mastodon server.",
            field=INSTANCE_URL_FIELD,
        )
    return client_id, client_secret


def authorize_url(
    instance_url: str, *, client_id: str, redirect_uri: str, scopes: str, state: str
) -> str:
    """Where the person approves PostWizard on their server (`GET /oauth/authorize`)."""
    return authorization_url(
        f"{instance_url}/oauth/authorize",
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scopes,
        state=state,
    )


async def exchange_code(
    api: MastodonApi,
    *,
    code: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    scopes: str,
) -> str:
    """The access token for an authorization `code` (`POST /oauth/token`)."""
    data = {
        **code_grant(code, redirect_uri, client_id=client_id, client_secret=client_secret),
        "scope": scopes,
    }
    try:
        response = await api.call(
            "POST", "/oauth/token", data=data, what="exchanging the authorization code"
        )
    except PlatformError as error:
        if error.http_status in (400, 401):
            raise ConnectError(
                f"{api.host} did not accept the authorization ({error.message}). Start "
                "connecting again.",
                http_status=error.http_status,
            ) from error
        raise ConnectError(error.message, http_status=error.http_status) from error
    token = _json_object(response).get("access_token")
    if not isinstance(token, str) or not token:
        raise ConnectError(f"{api.host} answered the code exchange without an access token.")
    return token


async def connected_account(
    api: MastodonApi, *, client_id: str, client_secret: str
) -> ConnectedAccount:
    """Who the token acts as (`verify_credentials`), with the server's own limits."""
    try:
        response = await api.call(
            "GET", "/api/v1/accounts/verify_credentials", what="reading the connected account"
        )
    except PlatformError as error:
        raise ConnectError(error.message, http_status=error.http_status) from error
    account = _json_object(response)
    account_id = str(account.get("id") or "")
    username = str(account.get("username") or account.get("acct") or "")
    if not account_id or not username:
        raise ConnectError(f"{api.host} answered verify_credentials without an account.")
    domain, overrides = await _instance_facts(api)
    credentials = {
        "access_token": api.token,
        "instance_url": api.instance_url,
        "account_id": account_id,
        # Kept to revoke the token on disconnect (POST /oauth/revoke needs them).
        "client_id": client_id,
        "client_secret": client_secret,
    }
    return ConnectedAccount(
        remote_id=account_id,
        handle=f"@{username}@{domain}",
        display_name=str(account.get("display_name") or username),
        credentials=credentials,
        limit_overrides=overrides,
        options={"instance_url": api.instance_url, "account_id": account_id, "domain": domain},
    )


async def _instance_facts(api: MastodonApi) -> tuple[str, dict[str, int]]:
    """The server's account domain and its limits, from `GET /api/v2/instance` or, on older or
    compatible servers, `GET /api/v1/instance`. Limits that cannot be read stay at Mastodon's
    defaults: connecting should not fail because a server hides its configuration."""
    host = httpx.URL(api.instance_url).host
    for path in ("/api/v2/instance", "/api/v1/instance"):
        try:
            response = await api.call("GET", path, what="reading the server's limits")
            instance = _json_object(response)
        except PlatformError:  # ConnectError too: an answer that is not JSON
            continue
        # v2 `domain` is the handle's domain (LOCAL_DOMAIN), which may differ from the web host;
        # v1 calls it `uri` (a full URL on Pleroma and Akkoma).
        raw = str(instance.get("domain") or instance.get("uri") or host)
        domain = httpx.URL(raw if "://" in raw else f"https://{raw}").host or host
        return domain, instance_limits(instance)
    return host, {}


def instance_limits(instance: Mapping[str, Any]) -> dict[str, int]:
    """The limit overrides of an instance document: `configuration.statuses` and
    `configuration.media_attachments` (v2, and v1 since Mastodon 3.4), else the older
    `max_toot_chars` and `upload_limit` of Pleroma, Akkoma and friends. Only values that
    `limits_for` accepts are kept."""
    configuration = instance.get("configuration")
    configuration = configuration if isinstance(configuration, Mapping) else {}
    statuses = configuration.get("statuses")
    statuses = statuses if isinstance(statuses, Mapping) else {}
    media = configuration.get("media_attachments")
    media = media if isinstance(media, Mapping) else {}
    found: dict[str, Any] = {key: statuses.get(key) for key in _STATUS_LIMITS}
    found |= {key: media.get(key) for key in _MEDIA_LIMITS}
    if found["max_characters"] is None:
        found["max_characters"] = instance.get("max_toot_chars")
    for key in _MEDIA_LIMITS:
        if found[key] is None:
            found[key] = instance.get("upload_limit")
    overrides = {
        key: value
        for key, value in found.items()
        if isinstance(value, int) and not isinstance(value, bool) and value > 0
    }
    limits_for(Network.MASTODON, overrides)  # a key limits.py lost would fail here, not later
    return overrides


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as error:
        raise ConnectError(
            f"{httpx.URL(str(response.url)).host} answered {response.url.path} with something "
            "other than JSON; it does not look like a Mastodon server.",
            field=INSTANCE_URL_FIELD,
        ) from error
    if not isinstance(body, dict):
        raise ConnectError(
            f"{response.url.host} answered {response.url.path} with unexpected data.",
            field=INSTANCE_URL_FIELD,
        )
    return body
