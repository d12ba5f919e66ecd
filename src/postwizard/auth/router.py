"""Setup, sign-in, the caller's profile and API tokens."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from starlette.background import BackgroundTask

from postwizard.api import API_PREFIX
from postwizard.api.pagination import Page, Pagination
from postwizard.api.rate_limits import Limit
from postwizard.api.resources import resources
from postwizard.auth import account_deletion, repository, schemas, service
from postwizard.auth.dependencies import SESSION_COOKIE, CurrentCaller, OptionalCaller
from postwizard.auth.models import User
from postwizard.db.session import DbSession
from postwizard.errors import Conflict, RateLimited, Unauthenticated
from postwizard.workspaces import service as workspaces_service
from postwizard.workspaces.deletion import remove_deleted_files
from postwizard.workspaces.schemas import InvitationPreview

router = APIRouter(prefix=API_PREFIX, tags=["auth"])


def _set_session_cookie(request: Request, response: Response, secret: str) -> None:
    settings = resources(request).settings
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.is_https,
        path="/",
    )


async def _sign_in(
    request: Request, response: Response, session: DbSession, user: User
) -> schemas.Me:
    user_agent = request.headers.get("user-agent", "")
    secret = await service.start_login(
        session, user, days=resources(request).settings.session_days, user_agent=user_agent
    )
    _set_session_cookie(request, response, secret)
    return await service.describe(session, user)


@router.get("/setup")
async def setup_state(session: DbSession) -> schemas.SetupState:
    """Whether this instance still needs its first (owner) account."""
    return schemas.SetupState(needs_setup=not await repository.any_user_exists(session))


@router.post("/setup", status_code=status.HTTP_201_CREATED)
async def setup(
    body: schemas.SetupRequest, request: Request, response: Response, session: DbSession
) -> schemas.Me:
    """Create the owner account and the first workspace, and sign in. Only possible once."""
    if await repository.any_user_exists(session):
        raise Conflict("PostWizard is already set up; sign in instead.", code="already_set_up")
    user = await service.create_user(
        session, email=body.email, password=body.password, name=body.name
    )
    await workspaces_service.create_workspace(session, user, body.workspace_name)
    return await _sign_in(request, response, session, user)


@router.post("/auth/login")
async def login(
    body: schemas.LoginRequest, request: Request, response: Response, session: DbSession
) -> schemas.Me:
    """Sign in with email and password; sets the session cookie. Failed attempts are rate-limited."""
    held = resources(request)
    limiter, limit = held.rate_limiter, Limit("login", held.settings.login_attempts_per_minute)
    keys = [f"email:{body.email.lower()}", f"ip:{request.client.host if request.client else '-'}"]
    wait = await limiter.seconds_until_allowed(limit, keys)
    if wait:
        raise RateLimited(f"Too many failed sign-ins; try again in {wait} s.", retry_after=wait)
    try:
        user = await service.authenticate(session, email=body.email, password=body.password)
    except Unauthenticated:
        await limiter.record(limit, keys)
        raise
    await limiter.clear(limit, keys)
    return await _sign_in(request, response, session, user)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    request: Request, response: Response, caller: OptionalCaller, session: DbSession
) -> None:
    """End this browser's session (a no-op when not signed in)."""
    if caller is not None:
        await service.end_login(session, caller)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=resources(request).settings.is_https,
    )


@router.get("/me")
async def me(caller: CurrentCaller, session: DbSession) -> schemas.Me:
    """The signed-in user, their workspaces and the current one."""
    return await service.describe(session, caller.user)


@router.patch("/me")
async def update_me(
    body: schemas.MeUpdate, caller: CurrentCaller, session: DbSession
) -> schemas.Me:
    """Change your name, or switch the current workspace."""
    await service.update_me(session, caller.user, body)
    return await service.describe(session, caller.user)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_me(
    body: schemas.AccountDeletion, request: Request, caller: CurrentCaller, session: DbSession
) -> Response:
    """Delete your account for real: sessions, API tokens, memberships, notifications, the
    invitations you made, and every workspace you are the only member of (with its media
    files). What you wrote in shared workspaces stays, without your name. Refused (409
    `sole_owner`) while you are the only owner of a workspace with other members."""
    orphaned = await account_deletion.delete_account(session, caller.user, password=body.password)
    held = resources(request)
    cleanup = BackgroundTask(remove_deleted_files, held.media_storage, held.engine, orphaned)
    response = Response(status_code=status.HTTP_204_NO_CONTENT, background=cleanup)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=held.settings.is_https
    )
    return response


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: schemas.PasswordChange, caller: CurrentCaller, session: DbSession
) -> None:
    """Change your password; your other browser sessions are signed out."""
    await service.change_password(
        session, caller, current=body.current_password, new=body.new_password
    )


@router.get("/me/tokens")
async def list_tokens(
    caller: CurrentCaller, session: DbSession, page: Pagination
) -> Page[schemas.ApiToken]:
    """Your personal API tokens (never their secrets)."""
    tokens, next_cursor = await repository.page_of_tokens(session, caller.user.id, page)
    return Page(items=[schemas.ApiToken.model_validate(t) for t in tokens], next_cursor=next_cursor)


@router.post("/me/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(
    body: schemas.ApiTokenCreate, caller: CurrentCaller, session: DbSession
) -> schemas.ApiTokenCreated:
    """Create a personal API token. The secret is in this answer only."""
    token, secret = await service.create_token(
        session, caller.user, name=body.name, expires_in_days=body.expires_in_days
    )
    return schemas.ApiTokenCreated(token=schemas.ApiToken.model_validate(token), secret=secret)


@router.delete("/me/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: uuid.UUID, caller: CurrentCaller, session: DbSession) -> None:
    """Revoke a token; requests using it are refused from now on."""
    await service.revoke_token(session, caller.user, token_id)


@router.get("/invitations/{token}", tags=["workspaces"])
async def preview_invitation(token: str, session: DbSession) -> InvitationPreview:
    """What an invitation link offers, before accepting it."""
    invitation, workspace = await workspaces_service.open_invitation(session, token)
    return InvitationPreview(
        workspace_name=workspace.name, role=invitation.role, expires_at=invitation.expires_at
    )


@router.post("/invitations/{token}/accept", tags=["workspaces"])
async def accept_invitation(
    token: str,
    body: schemas.InvitationAccept,
    request: Request,
    response: Response,
    caller: OptionalCaller,
    session: DbSession,
) -> schemas.Me:
    """Join the workspace. Signed-in people just accept; others create their account in `signup`."""
    if caller is not None:
        await workspaces_service.accept_invitation(session, token, caller.user)
        return await service.describe(session, caller.user)
    if body.signup is None:
        raise Conflict(
            "Sign in first, or send `signup` with your name, email and password to create an account.",
            code="signup_required",
            fields=[{"field": "signup", "message": "required when not signed in"}],
        )
    await workspaces_service.open_invitation(session, token)  # fail before creating an account
    user = await service.create_user(
        session, email=body.signup.email, password=body.signup.password, name=body.signup.name
    )
    await workspaces_service.accept_invitation(session, token, user)
    return await _sign_in(request, response, session, user)
