"""CSRF protection by double-submit: a readable `pw_csrf` cookie the SPA echoes in `X-CSRF-Token`.

A cross-site form or fetch cannot read our cookie, so it cannot send the header. Requests that
carry an Authorization header are not cookie-authenticated and need no token."""

from __future__ import annotations

import hmac
import secrets
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postwizard.api.errors import json_error_response
from postwizard.observability.http import header_value

CSRF_COOKIE = "pw_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfProtection:
    def __init__(
        self, app: ASGIApp, *, secure_cookie: bool, exempt_prefixes: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.secure_cookie = secure_cookie
        # Mounted apps that are not PostWizard's and never read its cookies (the sandbox network).
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = _cookie(scope, CSRF_COOKIE)
        exempt = scope["path"].startswith(self.exempt_prefixes)
        if (
            scope["method"] not in SAFE_METHODS
            and not exempt
            and header_value(scope, "authorization") is None
        ):
            sent = header_value(scope, CSRF_HEADER)
            if not cookie or not sent or not hmac.compare_digest(cookie, sent):
                response = json_error_response(
                    403,
                    "csrf_failed",
                    "Missing or wrong CSRF token: send the `pw_csrf` cookie's value in the X-CSRF-Token header "
                    "(or authenticate with an API token).",
                )
                await response(scope, receive, send)
                return
        if cookie:
            await self.app(scope, receive, send)
            return
        new_token = secrets.token_urlsafe(32)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                attributes = "Path=/; SameSite=Lax" + ("; Secure" if self.secure_cookie else "")
                MutableHeaders(scope=message).append(
                    "set-cookie", f"{CSRF_COOKIE}={new_token}; {attributes}"
                )
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _cookie(scope: Scope, name: str) -> str | None:
    raw = header_value(scope, "cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header is the client's problem, not a 500
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None
