"""A Bluesky session: the credentials PostWizard stores for an account and when to renew them.

`createSession` (handle or DID + app password) answers an access JWT, valid for a couple of
hours, and a refresh JWT, valid for weeks; `refreshSession` trades the refresh JWT for a new
pair. PostWizard reads each JWT's `exp` claim to know when to renew, without verifying the
signature: only the PDS can, and it does on every call.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from postwizard.platforms.bluesky.identity import pds_from_did_document
from postwizard.platforms.oauth2 import stored_time

# The keys of the credentials mapping (encrypted at rest by the engine).
IDENTIFIER = "identifier"
APP_PASSWORD = "app_password"  # noqa: S105 (a key name, not a password)
DID = "did"
HANDLE = "handle"
PDS_URL = "pds_url"
ACCESS_JWT = "access_jwt"
ACCESS_EXPIRES_AT = "access_expires_at"
REFRESH_JWT = "refresh_jwt"
REFRESH_EXPIRES_AT = "refresh_expires_at"

REFRESH_AHEAD = timedelta(minutes=5)
"""Renew the access JWT when it has less than this left, so no call starts with a token about
to run out."""

# Scopes a PDS writes into access JWTs: a session opened with the account password has full
# access; one opened with an app password is limited (no account deletion, no settings).
FULL_ACCESS_SCOPE = "com.atproto.access"


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, read without verifying it (empty if it is not a JWT)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def jwt_expiry(token: str) -> datetime | None:
    """When a JWT expires (its `exp` claim), or None if it does not say."""
    expiry = jwt_claims(token).get("exp")
    if isinstance(expiry, int | float) and not isinstance(expiry, bool):
        return datetime.fromtimestamp(expiry, tz=UTC)
    return None


def session_credentials(answer: Mapping[str, Any], *, pds_url: str) -> dict[str, str]:
    """The credentials to store from a `createSession`/`refreshSession` answer. The PDS comes
    from the answer's DID document when it has one (the account may have moved)."""
    access_jwt = str(answer["accessJwt"])
    refresh_jwt = str(answer["refreshJwt"])
    did = str(answer["did"])
    credentials = {
        DID: did,
        HANDLE: str(answer.get("handle") or ""),
        PDS_URL: pds_from_did_document(answer.get("didDoc"), did) or pds_url,
        ACCESS_JWT: access_jwt,
        ACCESS_EXPIRES_AT: _iso(jwt_expiry(access_jwt)),
        REFRESH_JWT: refresh_jwt,
        REFRESH_EXPIRES_AT: _iso(jwt_expiry(refresh_jwt)),
    }
    # "handle.invalid" is what a PDS answers while the handle fails verification: keep ours.
    if credentials[HANDLE] == "handle.invalid":
        credentials[HANDLE] = ""
    return credentials


def expires_at(credentials: Mapping[str, str], key: str) -> datetime | None:
    """A stored expiry time (ACCESS_EXPIRES_AT or REFRESH_EXPIRES_AT), None if unknown."""
    return stored_time(credentials.get(key))


def access_token_needs_refresh(credentials: Mapping[str, str], now: datetime) -> bool:
    """True when there is no access JWT or it expires within `REFRESH_AHEAD`."""
    if not credentials.get(ACCESS_JWT):
        return True
    expiry = expires_at(credentials, ACCESS_EXPIRES_AT) or jwt_expiry(credentials[ACCESS_JWT])
    return expiry is not None and expiry - now < REFRESH_AHEAD


def refresh_token_usable(credentials: Mapping[str, str], now: datetime) -> bool:
    """Whether the stored refresh JWT is worth trying (present and not known to be expired)."""
    if not credentials.get(REFRESH_JWT):
        return False
    expiry = expires_at(credentials, REFRESH_EXPIRES_AT)
    return expiry is None or expiry > now


def is_full_access(access_jwt: str) -> bool:
    """Whether a session was opened with the account password rather than an app password."""
    return jwt_claims(access_jwt).get("scope") == FULL_ACCESS_SCOPE


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""
