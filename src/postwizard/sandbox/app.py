"""The sandbox network's HTTP API: a simulated social network PostWizard publishes to over HTTP.

It behaves like a network without idempotency (like X): every create request that reaches it
creates a post, so a publisher that sends a post twice leaves two posts here, and
`GET /v1/_record` shows it. Its database is its own (see `store.py`), so its record is
independent evidence of "never lost, never twice".

Network API (account-scoped calls need `Authorization: Bearer <token>` and count against the
account's rate limit):
    GET    /healthz
    POST   /v1/accounts                          create an account; answers its token
    GET    /v1/accounts/{handle}                 followers, following, posts_count
    POST   /v1/accounts/{handle}/posts           create a post (NOT idempotent)
    GET    /v1/accounts/{handle}/posts           newest first; ?client_key= ?since= ?limit=
    GET    /v1/posts?ids=a,b,c                   metrics of up to 100 posts
    GET    /@{handle}/{post_id}                  a post's public page (its `url`), no token
Sign-in and operations (no token: the sandbox stands in for the network's web site and ops):
    POST   /v1/accounts/{handle}/token           issue a new token (the old one stops working)
    DELETE /v1/accounts/{handle}/token           revoke the token (calls answer 401 afterwards)
    GET    /v1/_record                           every post received, duplicates per account
    GET    /v1/_faults, PUT /v1/_faults          fault injection (see `faults.py`)

Mounted inside another app (`app.mount("/sandbox", create_sandbox_app(...))`) its lifespan
does not run; call `await close_sandbox_app(sandbox)` when the host shuts down.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from postwizard.sandbox import audience
from postwizard.sandbox.errors import SandboxError, install_error_handlers
from postwizard.sandbox.faults import (
    SIMULATED_RETRY_AFTER_SECONDS,
    DropConnection,
    FaultConfig,
    FaultInjector,
    Outcome,
)
from postwizard.sandbox.ratelimit import RateLimit, RateLimiter
from postwizard.sandbox.schemas import (
    MAX_ALT_TEXT_LENGTH,
    MAX_CLIENT_KEY_LENGTH,
    MAX_MEDIA_BYTES,
    MAX_MEDIA_ITEMS,
    MAX_METRIC_IDS,
    MAX_TEXT_CODE_POINTS,
    AccountCreate,
    AccountCreated,
    AccountView,
    DuplicateView,
    ErrorBody,
    FaultStatus,
    MediaItem,
    MetricsList,
    PostCreate,
    PostList,
    PostMetrics,
    PostView,
    RecordEntryView,
    RecordView,
    TokenIssued,
)
from postwizard.sandbox.store import AccountRow, HandleTaken, PostRow, SandboxStore

Clock = Callable[[], datetime]

TOKEN_BYTES = 32
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
POST_ID = re.compile(r"^[0-9]{1,18}$")  # fits SQLite's 64-bit integer ids
# Operations endpoints answer without the simulated latency: they are the harness, not the network.
LATENCY_EXEMPT = re.compile(r"^/(healthz$|v1/_)")
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (401, 422, 429)
}

bearer = HTTPBearer(auto_error=False, description="The account's token from POST /v1/accounts.")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SandboxState:
    """What the sandbox holds while it runs; one per app."""

    store: SandboxStore
    faults: FaultInjector
    limiter: RateLimiter
    clock: Clock

    def now(self) -> datetime:
        moment = self.clock()
        # An injected clock may hand out naive datetimes; the sandbox's time zone is UTC.
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


def state_of(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


State = Annotated[SandboxState, Depends(state_of)]


def token_digest(token: str) -> str:
    """Tokens are kept only as digests, as a real network would."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    token = "sbx_" + secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_digest(token)


async def token_account(
    response: Response,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> AccountRow:
    """The account the bearer token belongs to, after spending one request of its rate limit."""
    challenge = {"WWW-Authenticate": 'Bearer realm="sandbox"'}
    if credentials is None or not credentials.credentials:
        raise SandboxError(
            401,
            "invalid_token",
            "Send the account's token as `Authorization: Bearer <token>`.",
            headers=challenge,
        )
    account = await state.store.account_by_token(token_digest(credentials.credentials))
    if account is None:
        raise SandboxError(
            401,
            "invalid_token",
            "The token is not valid (wrong or revoked); connect the account again.",
            headers=challenge,
        )
    limit = state.limiter.limit
    decision = state.limiter.take(account.id, state.now().timestamp())
    limit_headers = {
        "X-RateLimit-Limit": str(limit.requests),
        "X-RateLimit-Remaining": str(decision.remaining),
    }
    if not decision.allowed:
        raise SandboxError(
            429,
            "rate_limited",
            f"@{account.handle} may make {limit.requests} requests per "
            f"{limit.window_seconds:g} s; retry in {decision.retry_after_seconds} s.",
            headers={"Retry-After": str(decision.retry_after_seconds), **limit_headers},
        )
    response.headers.update(limit_headers)
    return account


TokenAccount = Annotated[AccountRow, Depends(token_account)]


async def path_account(handle: str, account: TokenAccount) -> AccountRow:
    """The token's account, which must be the one named in the path."""
    if handle.casefold() != account.handle.casefold():
        raise SandboxError(
            401,
            "invalid_token",
            f"This token belongs to another account, not @{handle}.",
            headers={"WWW-Authenticate": 'Bearer realm="sandbox", error="invalid_token"'},
        )
    return account


PathAccount = Annotated[AccountRow, Depends(path_account)]


def post_url(request: Request, post: PostRow) -> str:
    # root_path is the mount prefix (e.g. /sandbox), so the link works standalone and mounted.
    root_path: str = request.scope.get("root_path", "")
    return str(request.url.replace(path=f"{root_path}/@{post.handle}/{post.id}", query=""))


def post_view(request: Request, post: PostRow) -> PostView:
    return PostView(
        id=str(post.id),
        url=post_url(request, post),
        text=post.text,
        client_key=post.client_key,
        reply_to=None if post.reply_to is None else str(post.reply_to),
        media_count=len(post.media),
        created_at=post.created_at,
    )


def metrics_of(post: PostRow, now: datetime) -> PostMetrics:
    facts = audience.PostFacts(
        post_id=post.id,
        created_at=post.created_at,
        text=post.text,
        media_count=len(post.media),
        audience=post.audience,
    )
    counts = audience.engagement_at(facts, now)
    return PostMetrics(
        id=str(post.id),
        impressions=counts.impressions,
        likes=counts.likes,
        reposts=counts.reposts,
        replies=counts.replies,
        quotes=counts.quotes,
        collected_at=now,
    )


def account_view(account: AccountRow, now: datetime) -> AccountView:
    return AccountView(
        id=str(account.id),
        handle=account.handle,
        display_name=account.display_name,
        followers=audience.followers_at(
            account.initial_followers, account.created_at, account.posts_count, now
        ),
        following=account.following,
        posts_count=account.posts_count,
        created_at=account.created_at,
    )


def invalid(code: str, message: str) -> SandboxError:
    return SandboxError(422, code, message)


def checked_text(text: str) -> str:
    if not text.strip():
        raise invalid("text_empty", "A post needs some text.")
    if len(text) > MAX_TEXT_CODE_POINTS:
        raise invalid(
            "text_too_long",
            f"The text is {len(text)} characters (code points) long; "
            f"the limit is {MAX_TEXT_CODE_POINTS}.",
        )
    return text


def checked_client_key(client_key: str) -> str:
    if not client_key or len(client_key) > MAX_CLIENT_KEY_LENGTH:
        raise invalid(
            "invalid_client_key", f"client_key must be 1 to {MAX_CLIENT_KEY_LENGTH} characters."
        )
    return client_key


def checked_media(items: list[MediaItem]) -> list[dict[str, Any]]:
    """What is kept of each attachment: its URL, or the size and digest of its bytes."""
    if len(items) > MAX_MEDIA_ITEMS:
        raise invalid(
            "too_many_media", f"A post can carry {MAX_MEDIA_ITEMS} media items, not {len(items)}."
        )
    kept: list[dict[str, Any]] = []
    for number, item in enumerate(items, start=1):
        if (item.url is None) == (item.data_base64 is None):
            raise invalid("invalid_media", f"Media item {number} needs a url or data_base64.")
        if item.alt is not None and len(item.alt) > MAX_ALT_TEXT_LENGTH:
            raise invalid(
                "alt_text_too_long",
                f"The alt text of media item {number} is longer than {MAX_ALT_TEXT_LENGTH}.",
            )
        if item.url is not None:
            if not item.url.startswith(("http://", "https://")):
                raise invalid("invalid_media", f"Media item {number}: the url must be http(s).")
            kept.append({"url": item.url, "alt": item.alt})
            continue
        try:
            data = base64.b64decode(item.data_base64 or "", validate=True)
        except binascii.Error:
            raise invalid(
                "invalid_media", f"Media item {number}: data_base64 is not valid base64."
            ) from None
        if not data:
            raise invalid("invalid_media", f"Media item {number} is empty.")
        if len(data) > MAX_MEDIA_BYTES:
            raise invalid(
                "media_too_large", f"Media item {number} is larger than {MAX_MEDIA_BYTES} bytes."
            )
        kept.append(
            {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "alt": item.alt}
        )
    return kept


async def checked_reply_to(state: SandboxState, reply_to: str | None) -> int | None:
    if reply_to is None:
        return None
    if POST_ID.match(reply_to) and await state.store.posts_by_ids([int(reply_to)]):
        return int(reply_to)
    raise invalid("reply_to_not_found", f"There is no post {reply_to} to reply to.")


def fault_status(faults: FaultInjector) -> FaultStatus:
    return FaultStatus(
        **faults.config.model_dump(),
        draws=faults.draws,
        outcomes={outcome.value: count for outcome, count in faults.outcomes.items()},
    )


router = APIRouter()


@router.get("/healthz", tags=["operations"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.post(
    "/v1/accounts",
    status_code=201,
    tags=["accounts"],
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def create_account(body: AccountCreate, state: State) -> AccountCreated:
    """Create an account; the answer carries its token, which is not shown again."""
    token, digest = new_token()
    initial = body.followers
    if initial is None:
        initial = audience.initial_followers_for(body.handle)
    now = state.now()
    try:
        account = await state.store.create_account(
            handle=body.handle,
            display_name=body.display_name or body.handle,
            initial_followers=initial,
            following=audience.following_for(body.handle),
            token_digest=digest,
            created_at=now,
        )
    except HandleTaken:
        raise SandboxError(
            409,
            "handle_taken",
            f"@{body.handle} exists already; get a new token with "
            f"POST /v1/accounts/{body.handle}/token.",
        ) from None
    return AccountCreated(
        id=str(account.id),
        handle=account.handle,
        display_name=account.display_name,
        followers=account_view(account, now).followers,
        created_at=account.created_at,
        token=token,
    )


@router.get("/v1/accounts/{handle}", tags=["accounts"], responses=ERROR_RESPONSES)
async def get_account(account: PathAccount, state: State) -> AccountView:
    """The account's profile; followers grow slowly with time and with every post."""
    return account_view(account, state.now())


@router.post(
    "/v1/accounts/{handle}/token",
    status_code=201,
    tags=["sign-in"],
    responses={404: {"model": ErrorBody}},
)
async def issue_token(handle: str, state: State) -> TokenIssued:
    """Sign in again: a new token for the account; the previous one stops working."""
    token, digest = new_token()
    if not await state.store.replace_token(handle, digest):
        raise SandboxError(404, "account_not_found", f"There is no account @{handle}.")
    account = await state.store.account_by_handle(handle)
    return TokenIssued(handle=account.handle if account else handle, token=token)


@router.delete(
    "/v1/accounts/{handle}/token",
    status_code=204,
    tags=["sign-in"],
    responses={404: {"model": ErrorBody}},
)
async def revoke_token(handle: str, state: State) -> Response:
    """Revoke the account's token, as a user removing the app's access would: calls made with
    it answer 401 from now on, until the account is connected again."""
    if not await state.store.replace_token(handle, None):
        raise SandboxError(404, "account_not_found", f"There is no account @{handle}.")
    return Response(status_code=204)


@router.post(
    "/v1/accounts/{handle}/posts",
    status_code=201,
    response_model=PostView,
    tags=["posts"],
    responses={**ERROR_RESPONSES, 500: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def create_post(
    body: PostCreate, request: Request, account: PathAccount, state: State
) -> PostView | Response:
    """Create a post. NOT idempotent: the same client_key twice makes two posts.

    Checks come first (a 422 is permanent and never stores anything); then the fault
    injector decides this request's fate (see `faults.py`)."""
    text = checked_text(body.text)
    client_key = checked_client_key(body.client_key)
    media = checked_media(body.media)
    reply_to = await checked_reply_to(state, body.reply_to)

    faults = state.faults
    hang_seconds = faults.config.hang_seconds
    outcome = faults.draw()
    if outcome is Outcome.SERVER_ERROR:
        raise SandboxError(500, "server_error", "Simulated server error; nothing was stored.")
    if outcome is Outcome.UNAVAILABLE:
        raise SandboxError(
            503, "unavailable", "Simulated overload; nothing was stored. Try again later."
        )
    if outcome is Outcome.RATE_LIMITED:
        raise SandboxError(
            429,
            "rate_limited",
            "Simulated rate limit; nothing was stored.",
            headers={"Retry-After": str(SIMULATED_RETRY_AFTER_SECONDS)},
        )

    now = state.now()
    post = await state.store.add_post(
        account_id=account.id,
        text=text,
        client_key=client_key,
        reply_to=reply_to,
        media=media,
        created_at=now,
        audience_of=lambda current: audience.followers_at(
            current.initial_followers, current.created_at, current.posts_count, now
        ),
    )
    # The post is committed; from here on the publisher may not learn that it was.
    if outcome is Outcome.TIMEOUT_AFTER_APPLY:
        await asyncio.sleep(hang_seconds)
    elif outcome is Outcome.RESET_AFTER_APPLY:
        return DropConnection()
    return post_view(request, post)


@router.get("/v1/accounts/{handle}/posts", tags=["posts"], responses=ERROR_RESPONSES)
async def list_posts(
    request: Request,
    account: PathAccount,
    state: State,
    client_key: Annotated[
        str | None, Query(max_length=MAX_CLIENT_KEY_LENGTH, description="Only posts with it.")
    ] = None,
    since: Annotated[datetime | None, Query(description="Only posts created at or after.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> PostList:
    """The account's posts, newest first: a publisher's reconcile looks its marker up here."""
    posts = await state.store.posts_of(account.id, client_key=client_key, since=since, limit=limit)
    return PostList(items=[post_view(request, post) for post in posts])


@router.get("/v1/posts", tags=["metrics"], responses=ERROR_RESPONSES)
async def post_metrics(
    _account: TokenAccount,
    state: State,
    ids: Annotated[str, Query(description=f"Comma-separated post ids, ≤ {MAX_METRIC_IDS}.")],
) -> MetricsList:
    """Engagement of public posts at this moment; they rise along decaying curves."""
    wanted = list(dict.fromkeys(part.strip() for part in ids.split(",") if part.strip()))
    if not wanted:
        raise invalid("missing_ids", "Name at least one post id.")
    if len(wanted) > MAX_METRIC_IDS:
        raise invalid(
            "too_many_ids", f"Ask for at most {MAX_METRIC_IDS} posts at once, not {len(wanted)}."
        )
    numeric = [int(raw) for raw in wanted if POST_ID.match(raw)]
    found = {post.id: post for post in await state.store.posts_by_ids(numeric)}
    now = state.now()
    items: list[PostMetrics] = []
    missing: list[str] = []
    for raw in wanted:
        post = found.get(int(raw)) if POST_ID.match(raw) else None
        if post is None:
            missing.append(raw)
        else:
            items.append(metrics_of(post, now))
    return MetricsList(items=items, missing=missing)


@router.get("/@{handle}/{post_id}", tags=["posts"], responses={404: {"model": ErrorBody}})
async def public_post(handle: str, post_id: str, request: Request, state: State) -> dict[str, Any]:
    """A post's public page (the `url` a created post answers with), as JSON."""
    posts = await state.store.posts_by_ids([int(post_id)]) if POST_ID.match(post_id) else []
    if not posts or posts[0].handle.casefold() != handle.casefold():
        raise SandboxError(404, "post_not_found", f"@{handle} has no post {post_id}.")
    return {
        "post": post_view(request, posts[0]).model_dump(mode="json"),
        "metrics": metrics_of(posts[0], state.now()).model_dump(mode="json"),
    }


@router.get("/v1/_record", tags=["operations"])
async def record(
    state: State,
    items: Annotated[bool, Query(description="false: only the counts.")] = True,
) -> RecordView:
    """Every post the network received, oldest first, and which client keys came twice."""
    received = await state.store.record(with_entries=items)
    return RecordView(
        accounts=received.accounts,
        posts=received.posts,
        distinct_client_keys=received.distinct_client_keys,
        duplicates=list(dict.fromkeys(duplicate.client_key for duplicate in received.duplicates)),
        duplicate_posts=[
            DuplicateView(
                handle=duplicate.handle,
                client_key=duplicate.client_key,
                post_ids=[str(post_id) for post_id in duplicate.post_ids],
            )
            for duplicate in received.duplicates
        ],
        items=[
            RecordEntryView(
                id=str(entry.id),
                handle=entry.handle,
                client_key=entry.client_key,
                created_at=entry.created_at,
            )
            for entry in received.entries
        ],
    )


@router.get("/v1/_faults", tags=["operations"])
async def get_faults(state: State) -> FaultStatus:
    return fault_status(state.faults)


@router.put("/v1/_faults", tags=["operations"], responses={422: {"model": ErrorBody}})
async def put_faults(body: FaultConfig, state: State) -> FaultStatus:
    """Replace the fault settings (omitted fields go back to none); draws restart from the seed."""
    state.faults.configure(body)
    return fault_status(state.faults)


class AddedLatency:
    """Delays every network API call by the configured latency (read per request)."""

    def __init__(self, app: ASGIApp, faults: FaultInjector) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        latency_ms = self.faults.config.latency_ms
        if scope["type"] == "http" and latency_ms > 0:
            # Mounted, the path still carries the mount prefix (root_path): judge the rest.
            path: str = scope["path"]
            path = path.removeprefix(scope.get("root_path", ""))
            if not LATENCY_EXEMPT.match(path):
                await asyncio.sleep(latency_ms / 1000)
        await self.app(scope, receive, send)


def create_sandbox_app(
    db_path: Path,
    *,
    faults: FaultConfig | None = None,
    clock: Clock | None = None,
    rate_limit: RateLimit | None = None,
) -> FastAPI:
    """The sandbox network as an ASGI app, storing into the SQLite file `db_path`.

    `faults`: faults injected from the start (default none; change them with PUT /v1/_faults).
    `clock`: "now" for timestamps, metrics, followers and rate limits (default: the real UTC
    time); tests pass one they can move. `rate_limit`: per account (default 300 per 5 min).
    Nothing is opened here: the database file and its tables are created when the app
    starts (its lifespan, so a bad path fails at start-up) or, mounted, at its first request."""
    store = SandboxStore(db_path)
    injector = FaultInjector(faults or FaultConfig())
    state = SandboxState(
        store=store,
        faults=injector,
        limiter=RateLimiter(rate_limit or RateLimit()),
        clock=clock or utc_now,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        try:
            yield
        finally:
            await store.close()

    app = FastAPI(
        title="PostWizard sandbox network",
        summary="A simulated social network with its own store, audience and faults.",
        version="1",
        lifespan=lifespan,
    )
    app.state.sandbox = state
    install_error_handlers(app)
    app.include_router(router)
    app.add_middleware(AddedLatency, faults=injector)
    return app


async def close_sandbox_app(app: FastAPI) -> None:
    """Close the sandbox's database; for hosts that mount it (mounted apps get no lifespan)."""
    state: SandboxState = app.state.sandbox
    await state.store.close()
