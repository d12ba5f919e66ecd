"""Connecting an X account (OAuth 2.0 Authorization Code with PKCE) and renewing its tokens.

X issues access tokens valid for two hours; with the `offline.access` scope it also issues a
refresh token, and every refresh answers a new one (the old one stops working), which the
engine stores. PostWizard's developer app is a confidential client: its client id and secret go
in a Basic `Authorization` header at the token endpoint (a public client, with no secret, sends
its client id in the body instead; both work here).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from postwizard.platforms.http_calls import send
from postwizard.platforms.oauth2 import authorization_url
from postwizard.platforms.protocol import (
    AuthExpiredError,
    ConnectError,
    PlatformError,
    RateLimitedError,
    TransientError,
)
from postwizard.platforms.x.errors import problem, reason, retry_after_seconds

DEFAULT_SCOPES = "tweet.read tweet.write users.read offline.access media.write"
"""What PostWizard needs: who the account is and its numbers (`users.read`), publishing
(`tweet.write`), reading posts back for reconcile and metrics (`tweet.read`; X also requires it
next to `users.read` for `/2/users/me`), media uploads (`media.write`) and a refresh token
(`offline.access`)."""
REFRESH_AHEAD = timedelta(minutes=5)
"""Renew the access token when it has less than this left, so no call starts with a token about
to run out."""
# X's token endpoint answers a refresh token that is no longer valid (used, revoked, expired)
# with `invalid_request` and this description, rather than RFC 6749's `invalid_grant`.
_DEAD_TOKEN_WORDS = ("token was invalid", "token is invalid")


def new_code_verifier() -> str:
    """A PKCE code verifier (RFC 7636: 43-128 characters of the unreserved set)."""
    return secrets.token_urlsafe(64)[:96]


def code_challenge(verifier: str) -> str:
    """The S256 challenge of `verifier`: base64url(SHA-256), without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(
    base: str, *, client_id: str, redirect_uri: str, scopes: str, state: str, verifier: str
) -> str:
    """Where the person approves PostWizard on X (`https://x.com/i/oauth2/authorize`)."""
    return authorization_url(
        base,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scopes,
        state=state,
        code_challenge=code_challenge(verifier),
        code_challenge_method="S256",
    )


class TokenEndpoint:
    """X's OAuth 2.0 token endpoint, as PostWizard's developer app."""

    def __init__(
        self, client: httpx.AsyncClient, url: str, *, client_id: str, client_secret: str
    ) -> None:
        self.client = client
        self.url = url
        self.client_id = client_id
        self.client_secret = client_secret

    async def exchange_code(self, *, code: str, redirect_uri: str, verifier: str) -> dict[str, str]:
        """The credentials for an authorization `code` (with its PKCE `verifier`). Raises
        `ConnectError` when X refuses the code."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        try:
            return await self._token(form, what="exchanging the authorization code")
        except _Refused as refused:
            if refused.response.status_code == 401:
                raise ConnectError(_app_refused(refused.response), http_status=401) from None
            raise ConnectError(
                f"X did not accept the authorization ({reason(refused.response)}). Start "
                "connecting again.",
                http_status=refused.response.status_code,
            ) from None
        except PlatformError as error:
            raise ConnectError(error.message, http_status=error.http_status) from error

    async def refresh(self, refresh_token: str) -> dict[str, str]:
        """New credentials (a new refresh token too: X rotates them). `AuthExpiredError` when X
        definitively refuses the refresh token; `TransientError` when it could not tell, or when
        it refused PostWizard's own app credentials (reconnecting would not help)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        try:
            return await self._token(form, what="renewing the access token")
        except _Refused as refused:
            response = refused.response
            body = problem(response)
            error = str(body.get("error") or "")
            description = str(body.get("error_description") or "").lower()
            if response.status_code == 401 or error in {"invalid_client", "unauthorized_client"}:
                raise TransientError(_app_refused(response), http_status=401) from None
            if error == "invalid_grant" or any(w in description for w in _DEAD_TOKEN_WORDS):
                raise AuthExpiredError(
                    f"X refused to renew access to this account ({reason(response)}); it was "
                    "revoked or has not been used for too long. Reconnect the account.",
                    http_status=response.status_code,
                ) from None
            raise TransientError(
                f"X did not renew the access token ({reason(response)}).",
                http_status=response.status_code,
            ) from None

    async def _token(self, form: dict[str, str], *, what: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.client_secret:
            credentials = f"{self.client_id}:{self.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode("ascii")
        else:
            form = {**form, "client_id": self.client_id}
        response = await send(
            self.client, "POST", self.url, network="X", what=what, data=form, headers=headers
        )
        if response.status_code == 429:
            seconds = retry_after_seconds(response.headers)
            raise RateLimitedError(
                f"X is rate-limiting PostWizard while {what}.", retry_after=seconds
            )
        if response.status_code >= 500:
            raise TransientError(
                f"X answered {response.status_code} while {what}.",
                http_status=response.status_code,
            )
        if response.status_code >= 400:
            raise _Refused(response)
        return token_credentials(problem(response), now=datetime.now(UTC))


class _Refused(Exception):
    """The token endpoint refused the request (4xx other than 429); the caller says why."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _app_refused(response: httpx.Response) -> str:
    return (
        f"X refused PostWizard's app credentials ({reason(response)}). Check "
        "POSTWIZARD_X_CLIENT_ID and POSTWIZARD_X_CLIENT_SECRET against the OAuth 2.0 Client ID "
        "and Client Secret of the app in the X developer console."
    )


def token_credentials(answer: Mapping[str, Any], *, now: datetime) -> dict[str, str]:
    """The credentials to store from a token answer (`access_token`, `refresh_token`,
    `expires_in`, `scope`); `expires_at` is computed from `expires_in`."""
    access_token = answer.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise TransientError("X answered the token request without an access token.")
    expires_in = answer.get("expires_in")
    expires_at = ""
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        expires_at = (now + timedelta(seconds=expires_in)).isoformat()
    return {
        "access_token": access_token,
        # Empty when X sends none: the engine then keeps the stored one.
        "refresh_token": str(answer.get("refresh_token") or ""),
        "expires_at": expires_at,
        "scope": str(answer.get("scope") or ""),
    }


def missing_scopes(granted: str, wanted: str) -> list[str]:
    """The scopes of `wanted` that `granted` lacks (empty `granted`: X did not say, none)."""
    if not granted:
        return []
    have = set(granted.split())
    return [scope for scope in wanted.split() if scope not in have]


def needs_refresh(credentials: Mapping[str, str], now: datetime) -> bool:
    """True when there is no access token, or it expires within `REFRESH_AHEAD`."""
    if not credentials.get("access_token"):
        return True
    raw = credentials.get("expires_at")
    if not raw:
        return False
    try:
        expires_at = datetime.fromisoformat(raw)
    except ValueError:
        return False
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    return expires_at - now < REFRESH_AHEAD
