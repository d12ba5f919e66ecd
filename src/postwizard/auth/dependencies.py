"""Who is calling: a Bearer API token, or else the session cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from postwizard.api.rate_limits import Limit, enforce
from postwizard.api.resources import resources
from postwizard.auth import service
from postwizard.auth.service import Caller
from postwizard.db.session import DbSession
from postwizard.errors import Unauthenticated

SESSION_COOKIE = "pw_session"


async def optional_caller(request: Request, session: DbSession) -> Caller | None:
    """A request with an Authorization header is judged by it alone; the cookie is then ignored
    (which is also why Bearer requests need no CSRF token)."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthenticated(
                "Send the token as `Authorization: Bearer <token>`.", code="invalid_token"
            )
        caller = await service.caller_from_bearer(session, secret.strip())
        if caller is None:
            raise Unauthenticated(
                "The API token is invalid, expired or revoked.", code="invalid_token"
            )
        await _count_token_request(request, caller)
        return caller
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return await service.caller_from_session_cookie(session, cookie)
    return None


async def _count_token_request(request: Request, caller: Caller) -> None:
    """Scripts are held to `api_token_requests_per_minute` per token (the browser is not)."""
    assert caller.token is not None
    held = resources(request)
    limit = Limit("token", held.settings.api_token_requests_per_minute)
    await enforce(held.rate_limiter, limit, [str(caller.token.id)], "requests with this API token")


async def current_caller(caller: Annotated[Caller | None, Depends(optional_caller)]) -> Caller:
    if caller is None:
        raise Unauthenticated("Sign in first, or send an API token.")
    return caller


OptionalCaller = Annotated[Caller | None, Depends(optional_caller)]
CurrentCaller = Annotated[Caller, Depends(current_caller)]
