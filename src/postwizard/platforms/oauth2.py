"""The parts of OAuth 2.0 (RFC 6749) the adapters do the same way: the authorization request
the person is sent to, the body of the authorization-code grant, and reading back the times
stored with a token."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode


def authorization_url(
    base: str, *, client_id: str, redirect_uri: str, scope: str, state: str, **extra: str
) -> str:
    """Where the person approves PostWizard (`response_type=code`, RFC 6749 section 4.1.1),
    with `extra` parameters the network adds (PKCE's challenge). `scope` is written as the
    network wants it (space- or comma-separated)."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            **extra,
        }
    )
    return f"{base}?{query}"


def code_grant(
    code: str, redirect_uri: str, *, client_id: str, client_secret: str
) -> dict[str, str]:
    """The token request's form for an authorization `code`, the client's credentials in the
    body (RFC 6749 sections 4.1.3 and 2.3.1)."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "client_secret": client_secret,
    }


def stored_time(value: str | None) -> datetime | None:
    """A time stored with the credentials (ISO 8601, UTC when it names no zone); None when
    absent or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
