"""Connecting LinkedIn: the member who signs in and, when PostWizard's app may manage pages,
each organization the member administers; and renewing tokens.

LinkedIn's 3-legged OAuth for web apps (`/oauth/v2/authorization` → `/oauth/v2/accessToken`)
binds the code to the app's secret and the redirect URI; it has no PKCE for web apps. Access
tokens last 60 days. Refresh tokens (365 days) exist only for apps LinkedIn enabled for
programmatic refresh; without one, the account is reconnected when its token runs out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from postwizard.platforms.linkedin.api import LinkedInApi, error_body, json_object
from postwizard.platforms.oauth2 import stored_time
from postwizard.platforms.protocol import (
    AuthExpiredError,
    ConnectedAccount,
    ConnectError,
    PlatformError,
    TransientError,
)

MEMBER_SCOPES = ("openid", "profile", "w_member_social")
ORGANIZATION_SCOPES = ("w_organization_social", "r_organization_social", "rw_organization_admin")
REFRESH_AHEAD = timedelta(days=1)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


async def token_request(
    client: httpx.AsyncClient, token_url: str, form: Mapping[str, str], *, what: str
) -> dict[str, str]:
    """POST the token endpoint; the credentials to store. A refusal (`{"error",
    "error_description"}`, 400/401) is `AuthExpiredError`; no answer or a 5xx `TransientError`."""
    try:
        response = await client.post(token_url, data=form)
    except httpx.TransportError as error:
        raise TransientError(
            f"LinkedIn could not be reached while {what} ({type(error).__name__})."
        ) from error
    if response.status_code >= 500:
        raise TransientError(
            f"LinkedIn answered {response.status_code} while {what}.",
            http_status=response.status_code,
        )
    body = error_body(response)
    if response.status_code >= 400:
        reason = body.get("error_description") or body.get("error") or body.get("message")
        raise AuthExpiredError(
            f"LinkedIn refused {what}: {reason or response.status_code}.",
            http_status=response.status_code,
        )
    return token_credentials(body, datetime.now(UTC))


def token_credentials(answer: Mapping[str, Any], now: datetime) -> dict[str, str]:
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise TransientError("LinkedIn answered the token request without an access token.")
    credentials = {"access_token": token}
    expires_in = answer.get("expires_in")
    if isinstance(expires_in, int) and not isinstance(expires_in, bool):
        credentials["expires_at"] = (now + timedelta(seconds=expires_in)).isoformat()
    refresh = answer.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        credentials["refresh_token"] = refresh
        refresh_in = answer.get("refresh_token_expires_in")
        if isinstance(refresh_in, int) and not isinstance(refresh_in, bool):
            credentials["refresh_expires_at"] = (now + timedelta(seconds=refresh_in)).isoformat()
    if isinstance(answer.get("scope"), str):
        credentials["scope"] = str(answer["scope"])
    return credentials


def needs_refresh(credentials: Mapping[str, str], now: datetime) -> bool:
    """True when there is a usable refresh token and the access token ends within a day."""
    if not credentials.get("refresh_token"):
        return False
    refresh_expires_at = stored_time(credentials.get("refresh_expires_at"))
    if refresh_expires_at is not None and refresh_expires_at <= now:
        return False
    expires_at = stored_time(credentials.get("expires_at"))
    return expires_at is not None and expires_at - now < REFRESH_AHEAD


async def connected_accounts(
    api: LinkedInApi, credentials: Mapping[str, str], *, organization_pages: bool
) -> list[ConnectedAccount]:
    """The member (`/v2/userinfo`), then each organization the member administers."""
    try:
        response = await api.call(
            "GET", "/v2/userinfo", what="reading who signed in", scope="openid", versioned=False
        )
        member = json_object(response, what="reading who signed in")
        sub = member.get("sub")
        if not isinstance(sub, str) or not sub:
            raise ConnectError("LinkedIn answered /v2/userinfo without the member's id (sub).")
        member_urn = f"urn:li:person:{sub}"
        name = (
            str(member.get("name") or "").strip()
            or " ".join(str(member.get(key) or "") for key in ("given_name", "family_name")).strip()
        )
        accounts = [
            ConnectedAccount(
                remote_id=member_urn,
                handle=name or member_urn,
                display_name=name or member_urn,
                credentials=dict(credentials),
                options={"author": member_urn, "kind": "member", "member": member_urn},
            )
        ]
        if organization_pages:
            accounts += await _organizations(api, credentials, member_urn)
    except ConnectError:
        raise
    except PlatformError as error:
        raise ConnectError(error.message, http_status=error.http_status) from error
    return accounts


async def _organizations(
    api: LinkedInApi, credentials: Mapping[str, str], member_urn: str
) -> list[ConnectedAccount]:
    response = await api.call(
        "GET",
        "/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED&count=100",
        what="listing the pages you administer",
        scope="rw_organization_admin",
    )
    elements = json_object(response, what="listing the pages you administer").get("elements")
    accounts = []
    for acl in elements if isinstance(elements, list) else []:
        urn = acl.get("organization") if isinstance(acl, dict) else None
        if not isinstance(urn, str) or not urn.startswith("urn:li:organization:"):
            continue
        page = await api.call(
            "GET",
            f"/rest/organizations/{quote(urn.rsplit(':', 1)[1], safe='')}",
            what="reading a page you administer",
            scope="rw_organization_admin",
        )
        organization = json_object(page, what="reading a page you administer")
        name = str(organization.get("localizedName") or urn)
        vanity = organization.get("vanityName")
        accounts.append(
            ConnectedAccount(
                remote_id=urn,
                handle=str(vanity) if vanity else name,
                display_name=name,
                credentials=dict(credentials),
                options={"author": urn, "kind": "organization", "member": member_urn},
            )
        )
    return accounts
