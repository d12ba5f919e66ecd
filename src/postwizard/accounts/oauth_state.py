"""The OAuth `state`: everything the callback needs, sealed into the parameter itself.

No server-side table holds a connect in progress, so any web process can answer the callback:
the state is a Fernet token (encrypted and authenticated with a key derived from the instance
secret) carrying who started connecting, where to, and the connector's pending data (the app's
client secret, the PKCE verifier), with an expiry. The browser only ever sees ciphertext."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cryptography.fernet import InvalidToken

from postwizard.accounts.credentials import derived_fernet
from postwizard.errors import PostWizardError
from postwizard.platforms.networks import Network

OAUTH_STATE_LIFETIME = timedelta(minutes=15)
_PURPOSE = b"postwizard/oauth-state/v1"


class OAuthStateError(PostWizardError):
    """The state is not one this instance issued, was altered, or has expired."""

    code = "oauth_state_invalid"


@dataclass(frozen=True)
class OAuthState:
    """A connect in progress. `account_id` is set when an existing account is reconnected."""

    workspace_id: uuid.UUID
    user_id: uuid.UUID
    network: Network
    timezone: str | None
    expires_at: datetime
    pending: Mapping[str, str] = field(default_factory=dict)
    account_id: uuid.UUID | None = None


def seal_oauth_state(secret_key: str, state: OAuthState) -> str:
    """The state as an opaque, URL-safe token."""
    payload = {
        "w": str(state.workspace_id),
        "u": str(state.user_id),
        "n": state.network.value,
        "tz": state.timezone,
        "exp": state.expires_at.timestamp(),
        "p": dict(state.pending),
        "a": str(state.account_id) if state.account_id else None,
    }
    token = derived_fernet(secret_key, _PURPOSE).encrypt(json.dumps(payload).encode())
    return token.decode()


def open_oauth_state(secret_key: str, token: str, *, now: datetime) -> OAuthState:
    """The state inside `token`; raises `OAuthStateError` if it was not sealed by this instance,
    was changed, or has expired."""
    try:
        payload = json.loads(derived_fernet(secret_key, _PURPOSE).decrypt(token.encode()))
        state = OAuthState(
            workspace_id=uuid.UUID(payload["w"]),
            user_id=uuid.UUID(payload["u"]),
            network=Network(payload["n"]),
            timezone=payload["tz"],
            expires_at=datetime.fromtimestamp(float(payload["exp"]), tz=now.tzinfo),
            pending={str(k): str(v) for k, v in payload["p"].items()},
            account_id=uuid.UUID(payload["a"]) if payload["a"] else None,
        )
    except (InvalidToken, ValueError, KeyError, TypeError, AttributeError):
        raise OAuthStateError(
            "This sign-in answer is not one PostWizard started (or it was altered); "
            "start connecting again."
        ) from None
    if now >= state.expires_at:
        raise OAuthStateError(
            "The sign-in took longer than "
            f"{int(OAUTH_STATE_LIFETIME.total_seconds() // 60)} minutes and expired; "
            "start connecting again."
        )
    return state


def with_state(authorize_url: str, placeholder: str, state: str) -> str:
    """`authorize_url` with its `state` parameter (`placeholder`, as the connector was given it)
    replaced by the sealed `state`.

    The connector needs a state to build the URL before its pending data exists, and the sealed
    state needs that pending data; so the connector gets a placeholder, which RFC 6749 §4.1.1
    says it sends as the `state` query parameter, and the sealed token takes its place here."""
    parts = urlsplit(authorize_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if [value for key, value in query if key == "state"] != [placeholder]:
        raise PostWizardError(
            "The network adapter built an authorization address without the state it was "
            "given; this is a bug in PostWizard.",
            code="oauth_state_missing",
            status_code=500,
        )
    replaced = [(key, state if key == "state" else value) for key, value in query]
    return urlunsplit(parts._replace(query=urlencode(replaced)))
