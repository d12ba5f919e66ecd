"""Firebase Cloud Messaging (HTTP v1), for a PostWizard Android app.

The administrator gives a Firebase service-account JSON file. PostWizard signs an OAuth2
JWT-bearer assertion (RS256, `pyjwt`) with its private key, trades it at the file's `token_uri`
for an access token (kept until shortly before it expires), and posts each message to
`{api}/v1/projects/{project_id}/messages:send`."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from postwizard.config import Settings

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_S = 3600
# Fetch a new access token this long before the current one runs out.
EXPIRY_MARGIN_S = 60
TIMEOUT_S = 10.0
_REQUIRED = ("project_id", "private_key", "client_email", "token_uri")


class ServiceAccountError(ValueError):
    """The service-account file cannot be used; the message says why."""


@dataclass(frozen=True)
class ServiceAccount:
    project_id: str
    client_email: str
    private_key: str  # PEM
    private_key_id: str
    token_uri: str


def load_service_account(path: str) -> ServiceAccount:
    """Read and check a Firebase service-account JSON file (raises ServiceAccountError)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ServiceAccountError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise ServiceAccountError(f"{path} is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise ServiceAccountError(f"{path} is not a service-account JSON object")
    missing = [name for name in _REQUIRED if not isinstance(data.get(name), str) or not data[name]]
    if missing:
        raise ServiceAccountError(
            f"{path} lacks {', '.join(missing)}: download the key again from Firebase "
            "(Project settings → Service accounts → Generate new private key)"
        )
    if data.get("type", "service_account") != "service_account":
        raise ServiceAccountError(f"{path} is a {data.get('type')!r} file, not a service account")
    try:
        jwt.encode({"check": True}, data["private_key"], algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as error:
        raise ServiceAccountError(f"the private_key in {path} is not an RSA key: {error}") from None
    return ServiceAccount(
        project_id=data["project_id"],
        client_email=data["client_email"],
        private_key=data["private_key"],
        private_key_id=str(data.get("private_key_id", "")),
        token_uri=data["token_uri"],
    )


def fcm_configured(settings: Settings) -> bool:
    return bool(settings.fcm_service_account_file)


@dataclass(frozen=True)
class FcmResult:
    delivered: bool
    status_code: int | None = None
    error: str | None = None
    token_gone: bool = False  # the registration token is no longer valid: forget it


def _error_details(response: httpx.Response) -> tuple[str, str, bool]:
    """(status, message, whether a field violation names the token) of an FCM error body."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return "", response.text[:300], False
    status = str(error.get("status", ""))
    codes: list[str] = []
    token_field = False
    for detail in error.get("details", []) or []:
        if not isinstance(detail, dict):
            continue
        if detail.get("errorCode"):
            codes.append(str(detail["errorCode"]))
        for violation in detail.get("fieldViolations", []) or []:
            if isinstance(violation, dict) and violation.get("field") == "message.token":
                token_field = True
    code = codes[0] if codes else status
    return code, str(error.get("message", "")), token_field


class FcmClient:
    """Sends FCM messages with a cached OAuth2 access token."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT_S)
        self._account: ServiceAccount | None = None
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._client.aclose()

    def _service_account(self) -> ServiceAccount:
        if self._account is None:
            self._account = load_service_account(self.settings.fcm_service_account_file)
        return self._account

    def assertion(self, account: ServiceAccount, now: int) -> str:
        claims = {
            "iss": account.client_email,
            "scope": SCOPE,
            "aud": account.token_uri,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_S,
        }
        headers = {"kid": account.private_key_id} if account.private_key_id else None
        return jwt.encode(claims, account.private_key, algorithm="RS256", headers=headers)

    async def access_token(self) -> str:
        """A valid access token: the cached one, or a new one from the token endpoint."""
        async with self._lock:
            if self._token is not None and time.time() < self._token_expires - EXPIRY_MARGIN_S:
                return self._token
            account = self._service_account()
            response = await self._client.post(
                account.token_uri,
                data={
                    "grant_type": JWT_BEARER,
                    "assertion": self.assertion(account, int(time.time())),
                },
            )
            if response.status_code != 200:
                raise httpx.HTTPStatusError(
                    f"the token endpoint answered {response.status_code}: {response.text[:300]}",
                    request=response.request,
                    response=response,
                )
            body = response.json()
            self._token = str(body["access_token"])
            self._token_expires = time.time() + float(body.get("expires_in", 3600))
            return self._token

    def forget_token(self) -> None:
        self._token = None

    async def send(self, token: str, payload: dict[str, Any]) -> FcmResult:
        """Send one notification to a registration token."""
        try:
            account = self._service_account()
            access = await self.access_token()
        except ServiceAccountError as error:
            return FcmResult(False, error=f"FCM service account: {error}")
        except (httpx.HTTPError, KeyError, ValueError) as error:
            return FcmResult(False, error=f"FCM sign-in failed: {error}")
        message = {
            "message": {
                "token": token,
                "notification": {"title": payload["title"], "body": payload["body"]},
                # FCM data values must be strings.
                "data": {
                    key: "" if value is None else str(value) for key, value in payload.items()
                },
            }
        }
        url = f"{self.settings.fcm_api_url.rstrip('/')}/v1/projects/{account.project_id}/messages:send"
        try:
            response = await self._client.post(
                url, json=message, headers={"Authorization": f"Bearer {access}"}
            )
        except httpx.HTTPError as error:
            return FcmResult(False, error=f"{type(error).__name__}: {error}")
        if response.status_code == 200:
            return FcmResult(True, 200)
        code, text, token_field = _error_details(response)
        if response.status_code == 401:
            self.forget_token()  # expired or revoked early: sign in again on the retry
        gone = code == "UNREGISTERED" or (code == "INVALID_ARGUMENT" and token_field)
        return FcmResult(
            False, response.status_code, f"FCM {response.status_code} {code}: {text}".strip(), gone
        )
