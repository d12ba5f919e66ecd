"""Facebook Login for Facebook Pages and Instagram professional accounts.

The manual server-side flow ("Manually Build a Login Flow"): the person opens
`https://www.facebook.com/<version>/dialog/oauth`, picks the Pages (and their Instagram
accounts) PostWizard may use, and comes back with a code. PostWizard exchanges it for a
short-lived user token (`GET /oauth/access_token`, with the app secret: this is a confidential
server, and Facebook's PKCE support is an OIDC variant still "in testing"), exchanges that for a
long-lived user token (`grant_type=fb_exchange_token`), checks which permissions were granted
(`/me/permissions`: people can untick some), and reads the Pages with their Page access tokens
(`/me/accounts`). A Page token obtained from a long-lived user token has no expiry date: it
stops working only when the person changes their password, removes the app or loses their role
on the Page, and then only signing in again helps (there is no refresh).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from postwizard.platforms.meta.graph import GraphApi
from postwizard.platforms.protocol import ConnectError, PlatformError

_PAGE_FIELDS = "id,name,username,access_token,tasks"
# The Page task a token needs to publish (Page roles were replaced by tasks).
CREATE_CONTENT_TASK = "CREATE_CONTENT"


@dataclass(frozen=True)
class GrantedPage:
    """A Facebook Page the person granted, with its Page access token."""

    id: str
    name: str
    access_token: str
    username: str | None
    tasks: frozenset[str]


@dataclass(frozen=True)
class SignedIn:
    """What one Facebook Login produced: who signed in and the Pages they granted."""

    user_id: str
    user_name: str
    pages: list[GrantedPage]


class FacebookLogin:
    """The sign-in flow for one Meta app (`app_id`, `app_secret`) asking for `scopes`."""

    def __init__(
        self,
        api: GraphApi,
        *,
        facebook_url: str,
        version: str,
        app_id: str,
        app_secret: str,
        scopes: Sequence[str],
    ) -> None:
        self.api = api
        self.facebook_url = facebook_url.rstrip("/")
        self.version = version.strip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.scopes = tuple(scopes)

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where the person signs in and chooses Pages. `auth_type=rerequest` asks again for
        permissions they declined before (a reconnect after unticking one)."""
        query = urlencode(
            {
                "client_id": self.app_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "response_type": "code",
                "scope": ",".join(self.scopes),
                "auth_type": "rerequest",
            }
        )
        return f"{self.facebook_url}/{self.version}/dialog/oauth?{query}"

    async def sign_in(self, code: str, redirect_uri: str) -> SignedIn:
        """Exchange `code`, check the permissions, and read the granted Pages. Every refusal is
        a `ConnectError` the Accounts page shows."""
        try:
            short = await self._token(
                {
                    "client_id": self.app_id,
                    "client_secret": self.app_secret,
                    "redirect_uri": redirect_uri,
                    "code": code,
                },
                what="exchanging the authorization code",
            )
        except PlatformError as error:
            raise ConnectError(
                f"Facebook did not accept the sign-in ({error.message}) Start connecting again.",
                http_status=error.http_status,
            ) from error
        try:
            long_lived = await self._token(
                {
                    "grant_type": "fb_exchange_token",
                    "client_id": self.app_id,
                    "client_secret": self.app_secret,
                    "fb_exchange_token": short,
                },
                what="exchanging the sign-in for a long-lived token",
            )
            await self._check_permissions(long_lived)
            me = await self.api.call(
                "GET",
                "/me",
                token=long_lived,
                params={"fields": "id,name"},
                what="reading who signed in",
            )
            pages = await self.api.pages_of(
                "/me/accounts",
                token=long_lived,
                params={"fields": _PAGE_FIELDS, "limit": 100},
                what="reading the Pages you granted",
                permission="pages_show_list",
            )
        except ConnectError:
            raise
        except PlatformError as error:
            raise ConnectError(error.message, http_status=error.http_status) from error
        return SignedIn(
            user_id=str(me.get("id") or ""),
            user_name=str(me.get("name") or ""),
            pages=[page for page in map(_granted_page, pages) if page is not None],
        )

    async def _token(self, params: dict[str, str], *, what: str) -> str:
        body = await self.api.call(
            "GET", "/oauth/access_token", token=None, params=params, what=what
        )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise ConnectError(f"Facebook answered {what} without an access token.")
        return token

    async def _check_permissions(self, token: str) -> None:
        """`ConnectError` naming every permission PostWizard asked for that was not granted."""
        answer = await self.api.pages_of(
            "/me/permissions", token=token, what="reading the permissions you granted"
        )
        granted = {
            str(item.get("permission")) for item in answer if item.get("status") == "granted"
        }
        missing = [scope for scope in self.scopes if scope not in granted]
        if missing:
            raise ConnectError(
                f"PostWizard needs the permission{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}, which {'were' if len(missing) > 1 else 'was'} not "
                "granted. Connect again and leave every permission ticked."
            )


def _granted_page(item: dict[str, Any]) -> GrantedPage | None:
    page_id, token = item.get("id"), item.get("access_token")
    if not page_id or not isinstance(token, str) or not token:
        return None
    tasks = item.get("tasks")
    username = item.get("username")
    return GrantedPage(
        id=str(page_id),
        name=str(item.get("name") or page_id),
        access_token=token,
        username=str(username) if username else None,
        tasks=frozenset(str(t) for t in tasks) if isinstance(tasks, list) else frozenset(),
    )
