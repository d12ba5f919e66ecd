"""A fake Threads API (graph.threads.net and the threads.net authorize page) for contract tests.

It follows developers.facebook.com/docs/threads: the Authorization Window
(`GET /oauth/authorize` redirecting back with `code` and `state`), `POST /oauth/access_token`
(a short-lived token, one hour; the code is single-use and bound to the redirect URI and the
app's secret), `GET /access_token?grant_type=th_exchange_token` (long-lived, 60 days),
`GET /refresh_access_token?grant_type=th_refresh_token` (only for long-lived tokens at least
24 hours old and not expired), `GET /v1.0/me`, containers (`POST /v1.0/{user}/threads` with
TEXT/IMAGE/VIDEO/CAROUSEL, `is_carousel_item`, `children`, `reply_to_id`), whose media the fake
really downloads from `image_url`/`video_url` (so an unreachable URL fails as it would), video
containers `IN_PROGRESS` for a few polls, `POST /v1.0/{user}/threads_publish`,
`GET /v1.0/{user}/threads_publishing_limit`, the user's threads and replies newest first with
`since` and cursor paging, `/{media}/insights` and `/{user}/threads_insights`. Errors are Graph
API bodies `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`: 190 for an
expired or revoked token, 10 for a permission not granted, 100 for a bad parameter, 4 for a
rate limit (with `X-Business-Use-Case-Usage`), 2 for a temporary failure.

`received` records every post it published (each applied publish once), so a test can prove
there is no duplicate. Fault switches, each for the next publish only: `fail_next_publish`
(an HTTP status, before applying), `fail_next_publish_after_apply`, `rate_limit_next_publish`
(minutes to regain access), `hang_after_next_publish` (apply, then answer only after the client
gave up). `extra_quota_usage` adds posts made elsewhere to the 24-hour quota; `clock_offset`
moves the fake's time; `expire`/`revoke` a token.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from postwizard.platforms.text_length import threads_length
from tests.fakes.common import GraphError

SHORT_LIVED = timedelta(hours=1)
LONG_LIVED = timedelta(seconds=5_183_944)
QUOTA_TOTAL = 250
REPLY_QUOTA_TOTAL = 1000
MAX_TEXT = 500
SCOPES = frozenset(
    {
        "threads_basic",
        "threads_content_publish",
        "threads_manage_insights",
        "threads_manage_replies",
        "threads_read_replies",
    }
)


@dataclass
class FakeUser:
    id: str
    username: str
    name: str
    followers_count: int = 0


@dataclass
class FakeToken:
    user_id: str
    scopes: frozenset[str]
    long_lived: bool
    issued_at: datetime
    expires_at: datetime
    revoked: bool = False


@dataclass
class FakeContainer:
    id: str
    user_id: str
    media_type: str
    text: str | None
    reply_to_id: str | None = None
    is_carousel_item: bool = False
    children: list[str] = field(default_factory=list)
    media_sha256: str | None = None
    alt_text: str | None = None
    status: str = "FINISHED"
    error_message: str | None = None
    polls_left: int = 0


@dataclass
class FakePost:
    id: str
    user_id: str
    username: str
    text: str
    media_type: str
    timestamp: datetime
    reply_to_id: str | None
    media_sha256: list[str]
    alt_texts: list[str]
    insights: dict[str, int] = field(default_factory=dict)

    @property
    def permalink(self) -> str:
        return f"https://www.threads.net/@{self.username}/post/{self.id}"


class FakeThreads:
    """One Threads API with its app, profiles, containers, posts and fault switches."""

    def __init__(
        self, *, client_id: str = "990602627938098", client_secret: str = "s3cr3t"
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris: list[str] = []
        self.users: dict[str, FakeUser] = {}
        self.codes: dict[str, tuple[str, str, frozenset[str]]] = {}
        self.tokens: dict[str, FakeToken] = {}
        self.containers: dict[str, FakeContainer] = {}
        self.posts: dict[str, FakePost] = {}
        self.received: list[FakePost] = []
        self.requests: list[tuple[str, str]] = []
        self.authorizing_user = ""
        self.video_processing_polls = 2
        self.clock_offset = timedelta()
        self.extra_quota_usage = 0
        # Fault switches.
        self.fail_next_publish: int | None = None
        self.fail_next_publish_after_apply: int | None = None
        self.rate_limit_next_publish: int | None = None
        self.hang_after_next_publish: float | None = None
        self._ids = itertools.count(17_841_000_000_000_001)

    # --- Setting up ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    def add_user(self, username: str, name: str = "", followers_count: int = 0) -> FakeUser:
        user = FakeUser(str(next(self._ids)), username, name or username.title(), followers_count)
        self.users[user.id] = user
        self.authorizing_user = self.authorizing_user or user.id
        return user

    def user(self, username: str) -> FakeUser:
        return next(u for u in self.users.values() if u.username == username)

    def issue_token(self, username: str, scopes: frozenset[str] = SCOPES) -> str:
        """A long-lived token, as if the profile had connected (for tests that skip OAuth)."""
        token = "THAA" + secrets.token_urlsafe(24)
        now = self.now()
        self.tokens[token] = FakeToken(self.user(username).id, scopes, True, now, now + LONG_LIVED)
        return token

    def expire(self, token: str) -> None:
        self.tokens[token].expires_at = self.now() - timedelta(seconds=1)

    def revoke(self, token: str) -> None:
        self.tokens[token].revoked = True

    def add_post(
        self, username: str, text: str, *, media_type: str = "TEXT_POST", at: datetime | None = None
    ) -> FakePost:
        """A post made some other way (not counted in `received`)."""
        user = self.user(username)
        post = FakePost(
            str(next(self._ids)),
            user.id,
            user.username,
            text,
            media_type,
            at or self.now(),
            None,
            [],
            [],
        )
        self.posts[post.id] = post
        return post

    def received_texts(self) -> list[str]:
        return [post.text for post in self.received]

    # --- Checks -------------------------------------------------------------------------------

    def _token(self, request: Request, params: Mapping[str, str], scope: str) -> FakeToken:
        header = request.headers.get("authorization", "")
        value = header.removeprefix("Bearer ").strip() if header else params.get("access_token", "")
        token = self.tokens.get(value)
        if token is None or token.revoked:
            raise GraphError(
                400,
                "Error validating access token: The session has been invalidated "
                "because the user changed their password or Facebook has changed the "
                "session for security reasons.",
                code=190,
                subcode=460,
            )
        if token.expires_at <= self.now():
            raise GraphError(
                400, "Error validating access token: Session has expired.", code=190, subcode=463
            )
        if scope not in token.scopes:
            raise GraphError(
                403, f"(#10) Application does not have permission for this action: {scope}", code=10
            )
        return token

    def _quota_usage(self, user_id: str, *, replies: bool) -> int:
        since = self.now() - timedelta(days=1)
        published = [
            p
            for p in self.posts.values()
            if p.user_id == user_id
            and p.timestamp > since
            and (p.reply_to_id is not None) == replies
            and p in self.received
        ]
        return len(published) + (0 if replies else self.extra_quota_usage)

    async def _download(self, url: str) -> str | None:
        """The SHA-256 of what `url` serves, as Threads' fetcher would get it; None if it
        cannot be fetched."""
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(url)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        return hashlib.sha256(response.content).hexdigest()

    # --- The app ------------------------------------------------------------------------------

    def app(self) -> FastAPI:
        server = self
        app = FastAPI()

        @app.exception_handler(GraphError)
        async def graph_error(request: Request, error: GraphError) -> Response:
            return error.response()

        @app.middleware("http")
        async def record(request: Request, call_next: Any) -> Response:
            server.requests.append((request.method, request.url.path))
            response: Response = await call_next(request)
            return response

        async def params_of(request: Request) -> dict[str, str]:
            values = dict(request.query_params)
            if request.method == "POST":
                values.update({k: str(v) for k, v in (await request.form()).items()})
            return values

        @app.get("/oauth/authorize")
        async def authorize(request: Request) -> Response:
            query = request.query_params
            if query.get("client_id") != server.client_id:
                return JSONResponse({"error": "invalid client_id"}, status_code=400)
            scopes = frozenset(query.get("scope", "").split(","))
            if query.get("response_type") != "code" or not scopes or not scopes <= SCOPES:
                return JSONResponse({"error": "invalid scope or response_type"}, status_code=400)
            if "threads_basic" not in scopes:
                return JSONResponse({"error": "threads_basic is required"}, status_code=400)
            redirect_uri = query.get("redirect_uri", "")
            if server.redirect_uris and redirect_uri not in server.redirect_uris:
                return JSONResponse({"error": "redirect_uri not allowed"}, status_code=400)
            code = secrets.token_urlsafe(16)
            server.codes[code] = (server.authorizing_user, redirect_uri, scopes)
            back = {"code": code}
            if query.get("state"):
                back["state"] = query["state"]
            # Threads appends "#_" to the redirect, as Meta's pages do.
            return RedirectResponse(f"{redirect_uri}?{urlencode(back)}#_", status_code=302)

        @app.post("/oauth/access_token")
        async def exchange_code(request: Request) -> Response:
            form = await params_of(request)
            if form.get("client_id") != server.client_id or form.get("client_secret") != (
                server.client_secret
            ):
                raise GraphError(
                    400, "Error validating client secret.", code=1, type_="OAuthException"
                )
            grant = server.codes.pop(form.get("code", ""), None)
            if form.get("grant_type") != "authorization_code" or grant is None:
                raise GraphError(400, "Invalid verification code format.", code=100, subcode=36007)
            user_id, redirect_uri, scopes = grant
            if form.get("redirect_uri") != redirect_uri:
                raise GraphError(
                    400,
                    "Error validating verification code. Please make sure your "
                    "redirect_uri is identical to the one you used in the OAuth "
                    "dialog request",
                    code=100,
                    subcode=36008,
                )
            token = "THQ" + secrets.token_urlsafe(20)
            now = server.now()
            server.tokens[token] = FakeToken(user_id, scopes, False, now, now + SHORT_LIVED)
            return JSONResponse({"access_token": token, "user_id": int(user_id)})

        @app.get("/access_token")
        async def exchange_for_long_lived(request: Request) -> Response:
            query = request.query_params
            if query.get("client_secret") != server.client_secret:
                raise GraphError(400, "Error validating client secret.", code=1)
            if query.get("grant_type") != "th_exchange_token":
                raise GraphError(400, "Unsupported grant_type.", code=100)
            short = server.tokens.get(query.get("access_token", ""))
            if short is None or short.long_lived or short.expires_at <= server.now():
                raise GraphError(400, "Error validating access token.", code=190)
            return server._long_lived(short.user_id, short.scopes)

        @app.get("/refresh_access_token")
        async def refresh(request: Request) -> Response:
            query = request.query_params
            if query.get("grant_type") != "th_refresh_token":
                raise GraphError(400, "Unsupported grant_type.", code=100)
            token = server._token(request, dict(query), "threads_basic")
            if not token.long_lived:
                raise GraphError(400, "Short-lived tokens cannot be refreshed.", code=190)
            if server.now() - token.issued_at < timedelta(hours=24):
                raise GraphError(
                    400, "The access token must be at least 24 hours old to be refreshed.", code=100
                )
            return server._long_lived(token.user_id, token.scopes)

        @app.get("/v1.0/me")
        async def me(request: Request) -> Response:
            token = server._token(request, dict(request.query_params), "threads_basic")
            user = server.users[token.user_id]
            return JSONResponse({"id": user.id, "username": user.username, "name": user.name})

        @app.post("/v1.0/{user_id}/threads")
        async def create_container(user_id: str, request: Request) -> Response:
            values = await params_of(request)
            token = server._token(request, values, "threads_content_publish")
            if token.user_id != user_id:
                raise GraphError(400, "Unsupported post request.", code=100, subcode=33)
            return JSONResponse({"id": (await server._create_container(user_id, values)).id})

        @app.post("/v1.0/{user_id}/threads_publish")
        async def publish(user_id: str, request: Request) -> Response:
            values = await params_of(request)
            token = server._token(request, values, "threads_content_publish")
            if token.user_id != user_id:
                raise GraphError(400, "Unsupported post request.", code=100, subcode=33)
            if server.rate_limit_next_publish is not None:
                minutes, server.rate_limit_next_publish = server.rate_limit_next_publish, None
                usage = {
                    user_id: [
                        {
                            "type": "threads",
                            "call_count": 100,
                            "estimated_time_to_regain_access": minutes,
                        }
                    ]
                }
                raise GraphError(
                    400,
                    "(#4) Application request limit reached",
                    code=4,
                    headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
                )
            if server.fail_next_publish is not None:
                status, server.fail_next_publish = server.fail_next_publish, None
                raise GraphError(
                    status,
                    "An unexpected error has occurred. Please retry your request later.",
                    code=2,
                    type_="OAuthException",
                )
            container = server.containers.get(values.get("creation_id", ""))
            if container is None or container.user_id != user_id or container.is_carousel_item:
                raise GraphError(400, "Invalid parameter: creation_id", code=100)
            if container.status == "PUBLISHED":
                raise GraphError(
                    400, "The media has already been published.", code=100, subcode=2207003
                )
            if container.status != "FINISHED":
                raise GraphError(
                    400,
                    "Media is not ready to be published. Please wait a moment.",
                    code=9007,
                    subcode=2207027,
                )
            if server._quota_usage(user_id, replies=container.reply_to_id is not None) >= (
                REPLY_QUOTA_TOTAL if container.reply_to_id else QUOTA_TOTAL
            ):
                raise GraphError(400, "(#4) Application request limit reached", code=4)
            post = server._apply(container)
            if server.fail_next_publish_after_apply is not None:
                status, server.fail_next_publish_after_apply = (
                    server.fail_next_publish_after_apply,
                    None,
                )
                raise GraphError(status, "An unknown error occurred", code=1)
            if server.hang_after_next_publish is not None:
                delay, server.hang_after_next_publish = server.hang_after_next_publish, None
                await asyncio.sleep(delay)  # applied, but the client gives up before the answer
            return JSONResponse({"id": post.id})

        @app.get("/v1.0/{user_id}/threads_publishing_limit")
        async def publishing_limit(user_id: str, request: Request) -> Response:
            server._token(request, dict(request.query_params), "threads_basic")
            return JSONResponse(
                {
                    "data": [
                        {
                            "quota_usage": server._quota_usage(user_id, replies=False),
                            "config": {"quota_total": QUOTA_TOTAL, "quota_duration": 86400},
                            "reply_quota_usage": server._quota_usage(user_id, replies=True),
                            "reply_config": {
                                "quota_total": REPLY_QUOTA_TOTAL,
                                "quota_duration": 86400,
                            },
                        }
                    ]
                }
            )

        @app.get("/v1.0/{user_id}/threads")
        async def user_threads(user_id: str, request: Request) -> Response:
            return server._listing(request, user_id, replies=False)

        @app.get("/v1.0/{user_id}/replies")
        async def user_replies(user_id: str, request: Request) -> Response:
            return server._listing(request, user_id, replies=True)

        @app.get("/v1.0/{object_id}/insights")
        async def media_insights(object_id: str, request: Request) -> Response:
            server._token(request, dict(request.query_params), "threads_manage_insights")
            post = server.posts.get(object_id)
            if post is None:
                raise GraphError(
                    400,
                    f"Unsupported get request. Object with ID '{object_id}' does not exist.",
                    code=100,
                    subcode=33,
                )
            metrics = request.query_params.get("metric", "").split(",")
            return JSONResponse(
                {
                    "data": [
                        {
                            "name": name,
                            "period": "lifetime",
                            "values": [{"value": post.insights.get(name, 0)}],
                            "title": name.title(),
                            "id": f"{post.id}/insights/{name}/lifetime",
                        }
                        for name in metrics
                    ]
                }
            )

        @app.get("/v1.0/{user_id}/threads_insights")
        async def user_insights(user_id: str, request: Request) -> Response:
            server._token(request, dict(request.query_params), "threads_manage_insights")
            user = server.users[user_id]
            metrics = request.query_params.get("metric", "").split(",")
            if metrics != ["followers_count"]:
                raise GraphError(400, "Only followers_count is served by this fake.", code=100)
            return JSONResponse(
                {
                    "data": [
                        {
                            "name": "followers_count",
                            "period": "day",
                            "total_value": {"value": user.followers_count},
                            "title": "followers_count",
                            "id": f"{user_id}/insights/followers_count/day",
                        }
                    ]
                }
            )

        @app.get("/v1.0/{object_id}")
        async def read_object(object_id: str, request: Request) -> Response:
            server._token(request, dict(request.query_params), "threads_basic")
            container = server.containers.get(object_id)
            if container is not None:
                if container.polls_left > 0:
                    container.polls_left -= 1
                    if container.polls_left == 0 and container.status == "IN_PROGRESS":
                        container.status = "FINISHED"
                body: dict[str, Any] = {"id": container.id, "status": container.status}
                if container.error_message:
                    body["error_message"] = container.error_message
                return JSONResponse(body)
            post = server.posts.get(object_id)
            if post is None:
                raise GraphError(400, "Unsupported get request.", code=100, subcode=33)
            return JSONResponse(server._post_json(post))

        return app

    # --- Behaviour ----------------------------------------------------------------------------

    def _long_lived(self, user_id: str, scopes: frozenset[str]) -> JSONResponse:
        token = "THAA" + secrets.token_urlsafe(24)
        now = self.now()
        self.tokens[token] = FakeToken(user_id, scopes, True, now, now + LONG_LIVED)
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(LONG_LIVED.total_seconds()),
            }
        )

    async def _create_container(self, user_id: str, values: Mapping[str, str]) -> FakeContainer:
        media_type = values.get("media_type", "")
        text = values.get("text")
        if media_type not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
            raise GraphError(400, "Invalid parameter: media_type", code=100)
        if text is not None and threads_length(text) > MAX_TEXT:
            raise GraphError(
                400, f"Param text must be at most {MAX_TEXT} characters long.", code=100
            )
        if media_type == "TEXT" and not text:
            raise GraphError(400, "Param text is required for text posts.", code=100)
        reply_to = values.get("reply_to_id")
        if reply_to and reply_to not in self.posts:
            raise GraphError(400, "Invalid parameter: reply_to_id does not exist.", code=100)
        container = FakeContainer(
            id=str(next(self._ids)),
            user_id=user_id,
            media_type=media_type,
            text=text,
            reply_to_id=reply_to,
            is_carousel_item=values.get("is_carousel_item") == "true",
            alt_text=values.get("alt_text"),
        )
        if media_type in ("IMAGE", "VIDEO"):
            url = values.get("image_url" if media_type == "IMAGE" else "video_url")
            if not url:
                raise GraphError(400, "Param image_url or video_url is required.", code=100)
            container.media_sha256 = await self._download(url)
            if container.media_sha256 is None:
                container.status = "ERROR"
                container.error_message = (
                    "FAILED_DOWNLOADING_VIDEO" if media_type == "VIDEO" else "UNKNOWN"
                )
            elif media_type == "VIDEO":
                container.status = "IN_PROGRESS"
                container.polls_left = self.video_processing_polls
        if media_type == "CAROUSEL":
            children = [c for c in values.get("children", "").split(",") if c]
            if not 2 <= len(children) <= 20:
                raise GraphError(400, "A carousel needs 2 to 20 children.", code=100)
            for child_id in children:
                child = self.containers.get(child_id)
                if child is None or not child.is_carousel_item or child.user_id != user_id:
                    raise GraphError(400, f"Invalid carousel child {child_id}.", code=100)
                if child.status != "FINISHED":
                    raise GraphError(
                        400, "Carousel children are not ready.", code=9007, subcode=2207027
                    )
            container.children = children
        self.containers[container.id] = container
        return container

    def _apply(self, container: FakeContainer) -> FakePost:
        user = self.users[container.user_id]
        items = [self.containers[c] for c in container.children] or [container]
        media_type = {"TEXT": "TEXT_POST", "CAROUSEL": "CAROUSEL_ALBUM"}.get(
            container.media_type, container.media_type
        )
        post = FakePost(
            id=str(next(self._ids)),
            user_id=user.id,
            username=user.username,
            text=container.text or "",
            media_type=media_type,
            timestamp=self.now(),
            reply_to_id=container.reply_to_id,
            media_sha256=[i.media_sha256 for i in items if i.media_sha256],
            alt_texts=[i.alt_text or "" for i in items if i.media_sha256],
        )
        container.status = "PUBLISHED"
        self.posts[post.id] = post
        self.received.append(post)
        return post

    def _post_json(self, post: FakePost) -> dict[str, Any]:
        return {
            "id": post.id,
            "media_product_type": "THREADS",
            "media_type": post.media_type,
            "permalink": post.permalink,
            "username": post.username,
            "text": post.text,
            "timestamp": post.timestamp.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "shortcode": post.id[-8:],
            "is_quote_post": False,
        }

    def _listing(self, request: Request, user_id: str, *, replies: bool) -> Response:
        query = request.query_params
        token = self._token(request, dict(query), "threads_basic")
        if token.user_id != user_id:
            raise GraphError(400, "Unsupported get request.", code=100, subcode=33)
        limit = min(int(query.get("limit", "25")), 100)
        since = int(query["since"]) if "since" in query else None
        posts = sorted(
            (
                p
                for p in self.posts.values()
                if p.user_id == user_id
                and (p.reply_to_id is not None) == replies
                and (since is None or p.timestamp.timestamp() >= since)
            ),
            key=lambda p: p.timestamp,
            reverse=True,
        )
        start = int(query.get("after", "0"))
        page = posts[start : start + limit]
        body: dict[str, Any] = {"data": [self._post_json(p) for p in page]}
        if page:
            body["paging"] = {"cursors": {"before": str(start), "after": str(start + len(page))}}
            if start + len(page) < len(posts):
                body["paging"]["next"] = f"{request.url.path}?after={start + len(page)}"
        return JSONResponse(body)
