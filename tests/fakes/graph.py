"""A fake Meta Graph API (developers.facebook.com) serving Facebook Pages and Instagram, for
contract tests.

It follows the documented endpoints and error bodies closely enough that the adapters cannot
tell it from Meta:
- Facebook Login: `GET /<v>/dialog/oauth` (the person is signed in, picks Pages, may untick
  permissions; redirects back with `code` and `state`), `GET /<v>/oauth/access_token` (code
  exchange with the app secret and the same `redirect_uri`; `grant_type=fb_exchange_token` for
  a long-lived token), `/me`, `/me/permissions`, `/me/accounts` (Pages with their Page access
  tokens and tasks, paged with cursors);
- every call authenticated by `Authorization: Bearer` (or `access_token`) with a valid
  `appsecret_proof`; scopes checked per endpoint (`(#200) ... permission` / `(#10)`);
- Pages: `POST /{page}/feed` (`message`, `link`, `attached_media[i]`), `POST /{page}/photos`
  (multipart `source`, `published=false` for unpublished photos, `alt_text_custom`),
  `POST /{page}/videos`, `GET /{page}/posts` (newest first, `since`, cursors), post fields
  `reactions/comments.summary(total_count)`, `shares`, `/{post}/insights`;
- Instagram: `POST /{ig-user}/media` (the fake *downloads* `image_url`/`video_url`, as
  Instagram does, so a URL it cannot fetch fails the same way), `GET /{container}?fields=
  status_code,status` (videos stay `IN_PROGRESS` for a few polls), `POST /{ig-user}/
  media_publish` (a container publishes once), `content_publishing_limit`, `GET /{ig-user}/
  media` (since, cursors), `/{media}/insights`, `POST /{media}/comments`.
Errors are `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`.

`fb_received` and `ig_received` record every post created (each applied create once), the
independent evidence of "never twice". Fault switches, each for the next create only (feed,
published photo, video, media_publish): `fail_next_create` (an HTTP status with Meta's
transient error), `rate_limit_next_create` (code and minutes for `X-Business-Use-Case-Usage`),
`hang_after_next_create` (apply, then answer after the client gave up); `expire_token`,
`revoke_permission`; `container_errors_next` (the next video container ends in ERROR).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from tests.fakes.common import GraphError

FB_TIME = "%Y-%m-%dT%H:%M:%S%z"
INSTAGRAM_QUOTA = 50
CAROUSEL_MAX = 10


@dataclass
class FakeToken:
    kind: str  # "user" or "page"
    user_id: str
    scopes: set[str]
    page_id: str | None = None
    long_lived: bool = False
    expired: bool = False
    invalidated: bool = False


@dataclass
class FakePage:
    id: str
    name: str
    username: str | None
    tasks: list[str]
    followers_count: int = 0
    ig_user_id: str | None = None


@dataclass
class FakeIgUser:
    id: str
    username: str
    name: str
    followers_count: int = 0
    follows_count: int = 0


@dataclass
class FakePost:
    id: str
    page_id: str
    message: str
    created_time: datetime
    link: str | None = None
    photo_ids: list[str] = field(default_factory=list)
    video_id: str | None = None
    reactions: int = 0
    comments: int = 0
    shares: int = 0
    views: int = 0
    reach: int = 0
    clicks: int = 0


@dataclass
class FakePhoto:
    id: str
    page_id: str
    sha256: str
    size: int
    published: bool
    alt_text: str | None = None
    attached_to: str | None = None


@dataclass
class FakeContainer:
    id: str
    ig_user_id: str
    media_type: str  # IMAGE, REELS, VIDEO (carousel item), CAROUSEL
    caption: str
    url: str | None
    sha256: str | None
    is_carousel_item: bool
    children: list[str] = field(default_factory=list)
    alt_text: str | None = None
    polls_left: int = 0
    fails: bool = False
    published_media_id: str | None = None


@dataclass
class FakeIgMedia:
    id: str
    ig_user_id: str
    caption: str
    media_type: str  # IMAGE, VIDEO, CAROUSEL_ALBUM
    timestamp: datetime
    container_id: str | None
    via_api: bool = True
    comments: list[str] = field(default_factory=list)
    insights: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RateLimitFault:
    code: int = 80001
    regain_minutes: int = 7


class FakeGraph:
    """Meta's Graph API for one app, one person signing in, their Pages and Instagram accounts."""

    def __init__(
        self,
        *,
        app_id: str = "1029384756",
        app_secret: str = "fake-app-secret",
        version: str = "v23.0",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.app_id, self.app_secret, self.version, self.clock = app_id, app_secret, version, clock
        self.user_id, self.user_name = "5550001", "Alice Example"
        self.pages: dict[str, FakePage] = {}
        self.ig_users: dict[str, FakeIgUser] = {}
        self.tokens: dict[str, FakeToken] = {}
        self.page_tokens: dict[str, str] = {}
        self.codes: dict[str, tuple[str, set[str], list[str]]] = {}
        self.chosen_pages: dict[str, list[str]] = {}  # user token -> the Pages it was given
        self.posts: dict[str, FakePost] = {}
        self.photos: dict[str, FakePhoto] = {}
        self.videos: dict[str, tuple[str, str, int]] = {}  # id -> (page id, sha256, size)
        self.containers: dict[str, FakeContainer] = {}
        self.ig_media: dict[str, FakeIgMedia] = {}
        self.fb_received: list[FakePost] = []
        self.ig_received: list[FakeIgMedia] = []
        self.requests: list[tuple[str, str]] = []
        self.fetched_urls: list[str] = []
        # What the person does on the dialog.
        self.pages_chosen: list[str] | None = None  # None: every Page
        self.declined_scopes: set[str] = set()
        # Behaviour.
        self.accounts_page_size = 25
        self.video_processing_polls = 2
        self.quota_total = INSTAGRAM_QUOTA
        # Fault switches.
        self.fail_next_create: int | None = None
        self.rate_limit_next_create: RateLimitFault | None = None
        self.hang_after_next_create: float | None = None
        self.container_errors_next = False
        self._ids = itertools.count(1)

    # --- Setting up -----------------------------------------------------------------------

    def new_id(self) -> str:
        return str(17_840_000_000_000 + next(self._ids))

    def add_page(
        self,
        name: str,
        *,
        username: str | None = None,
        tasks: tuple[str, ...] = ("ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MODERATE", "MANAGE"),
        followers_count: int = 0,
        instagram: str | None = None,
        ig_followers: int = 0,
    ) -> FakePage:
        page = FakePage(self.new_id(), name, username, list(tasks), followers_count)
        if instagram:
            ig = FakeIgUser(self.new_id(), instagram, f"{name} on Instagram", ig_followers, 12)
            self.ig_users[ig.id] = ig
            page.ig_user_id = ig.id
        self.pages[page.id] = page
        return page

    def page_token(self, page_id: str, scopes: str) -> str:
        """A Page token as if the person had signed in (for tests that skip the login)."""
        token = "EAAP" + secrets.token_urlsafe(24)
        self.tokens[token] = FakeToken(
            "page", self.user_id, set(scopes.split()), page_id=page_id, long_lived=True
        )
        return token

    def expire_token(self, token: str) -> None:
        self.tokens[token].expired = True

    def invalidate_token(self, token: str) -> None:
        """As when the person changes their password."""
        self.tokens[token].invalidated = True

    def revoke_permission(self, token: str, scope: str) -> None:
        self.tokens[token].scopes.discard(scope)

    def add_post(self, page_id: str, message: str, *, created_time: datetime) -> FakePost:
        """A post made some other way (not in `fb_received`)."""
        post = FakePost(f"{page_id}_{self.new_id()}", page_id, message, created_time)
        self.posts[post.id] = post
        return post

    def add_ig_media(
        self, ig_user_id: str, caption: str, *, media_type: str = "IMAGE", timestamp: datetime
    ) -> FakeIgMedia:
        """An Instagram post made some other way (not in `ig_received`, not via the API)."""
        media = FakeIgMedia(
            self.new_id(), ig_user_id, caption, media_type, timestamp, None, via_api=False
        )
        self.ig_media[media.id] = media
        return media

    def app(self) -> FastAPI:
        return _build_app(self)

    # --- Checks ---------------------------------------------------------------------------

    def authenticate(self, request: Request, query: dict[str, str]) -> tuple[str, FakeToken]:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() or query.get("access_token", "")
        known = self.tokens.get(token)
        if known is None:
            raise GraphError(
                400, "Invalid OAuth access token - Cannot parse access token", code=190
            )
        proof = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        if query.get("appsecret_proof") != proof:
            raise GraphError(
                400,
                "Invalid appsecret_proof provided in the API argument",
                code=100,
                type_="GraphMethodException",
            )
        if known.invalidated:
            raise GraphError(
                400,
                "Error validating access token: The session has been invalidated because the "
                "user changed their password or Facebook has changed the session for security "
                "reasons.",
                code=190,
                subcode=460,
            )
        if known.expired:
            raise GraphError(
                400,
                "Error validating access token: Session has expired.",
                code=190,
                subcode=463,
            )
        return token, known

    def require(self, token: FakeToken, scope: str, *, code: int = 200) -> None:
        if scope not in token.scopes:
            message = (
                f"(#200) Requires {scope} permission to manage the object"
                if code == 200
                else f"(#10) Application does not have permission for this action ({scope})"
            )
            raise GraphError(403, message, code=code)

    def create_faults(self) -> None:
        """The fault switches of a create, applied before it."""
        if self.rate_limit_next_create is not None:
            fault, self.rate_limit_next_create = self.rate_limit_next_create, None
            usage = {
                "112233": [
                    {
                        "type": "pages",
                        "call_count": 100,
                        "total_cputime": 30,
                        "total_time": 40,
                        "estimated_time_to_regain_access": fault.regain_minutes,
                    }
                ]
            }
            raise GraphError(
                400,
                "(#80001) There have been too many calls to this Page account. Wait a bit and "
                "try again.",
                code=fault.code,
                headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
            )
        if self.fail_next_create is not None:
            status, self.fail_next_create = self.fail_next_create, None
            raise GraphError(
                status,
                "An unexpected error has occurred. Please retry your request later.",
                code=2,
                is_transient=True,
            )

    async def after_create(self) -> None:
        if self.hang_after_next_create is not None:
            delay, self.hang_after_next_create = self.hang_after_next_create, None
            await asyncio.sleep(delay)

    def quota_usage(self, ig_user_id: str) -> int:
        since = self.clock() - timedelta(hours=24)
        return sum(
            1
            for m in self.ig_media.values()
            if m.ig_user_id == ig_user_id and m.via_api and m.timestamp > since
        )


# --- Serialising ------------------------------------------------------------------------------


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime(FB_TIME)


def _paged(
    request: Request, items: list[dict[str, Any]], query: dict[str, str], default: int = 25
) -> dict[str, Any]:
    limit = min(int(query.get("limit", default)), 100)
    start = int(query.get("after", "0") or 0)
    page = items[start : start + limit]
    body: dict[str, Any] = {"data": page}
    if page:
        end = start + len(page)
        cursors = {"before": str(start), "after": str(end)}
        body["paging"] = {"cursors": cursors}
        if end < len(items):
            rest = {k: v for k, v in query.items() if k not in ("after", "access_token")}
            body["paging"]["next"] = (
                f"{request.url.scheme}://{request.url.netloc}{request.url.path}?{urlencode({**rest, 'after': str(end)})}"
            )
    return body


def _fields(query: dict[str, str]) -> str:
    return query.get("fields", "")


async def _params(request: Request) -> tuple[dict[str, str], dict[str, UploadFile]]:
    query = dict(request.query_params)
    files: dict[str, UploadFile] = {}
    if request.method == "POST":
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = value
            else:
                query[key] = str(value)
    return query, files


async def _digest(upload: UploadFile) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := await upload.read(256 * 1024):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


# --- The app ----------------------------------------------------------------------------------


def _build_app(server: FakeGraph) -> FastAPI:
    app = FastAPI()
    version = server.version

    @app.exception_handler(GraphError)
    async def render(request: Request, error: GraphError) -> JSONResponse:
        return error.response()

    @app.middleware("http")
    async def log_requests(request: Request, call_next: Any) -> Response:
        server.requests.append((request.method, request.url.path))
        response: Response = await call_next(request)
        return response

    # --- Facebook Login ---------------------------------------------------------------------

    @app.get(f"/{version}/dialog/oauth")
    async def dialog(request: Request) -> Response:
        """The person is signed in to Facebook, picks Pages and clicks Continue."""
        query = dict(request.query_params)
        if query.get("client_id") != server.app_id:
            raise GraphError(400, "Invalid App ID", code=101)
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri.startswith(("https://", "http://")):
            raise GraphError(400, "URL blocked: the redirect URI is not whitelisted", code=191)
        scopes = {s for s in query.get("scope", "").split(",") if s} - server.declined_scopes
        chosen = server.pages_chosen if server.pages_chosen is not None else list(server.pages)
        code = "AQ" + secrets.token_urlsafe(24)
        server.codes[code] = (redirect_uri, scopes, chosen)
        back = {"code": code, "state": query.get("state", "")}
        return RedirectResponse(f"{redirect_uri}?{urlencode(back)}#_=_", status_code=302)

    @app.get(f"/{version}/oauth/access_token")
    async def access_token(request: Request) -> dict[str, Any]:
        query = dict(request.query_params)
        if query.get("client_id") != server.app_id or query.get("client_secret") != (
            server.app_secret
        ):
            raise GraphError(400, "Error validating client secret.", code=1, type_="OAuthException")
        if query.get("grant_type") == "fb_exchange_token":
            short = server.tokens.get(query.get("fb_exchange_token", ""))
            if short is None or short.kind != "user" or short.expired:
                raise GraphError(400, "Invalid OAuth access token.", code=190)
            token = "EAAL" + secrets.token_urlsafe(32)
            server.tokens[token] = FakeToken(
                "user", short.user_id, set(short.scopes), long_lived=True
            )
            server.chosen_pages[token] = server.chosen_pages.get(query["fb_exchange_token"], [])
            return {"access_token": token, "token_type": "bearer", "expires_in": 5_183_944}
        grant = server.codes.pop(query.get("code", ""), None)
        if grant is None:
            raise GraphError(
                400,
                "This authorization code has been used.",
                code=100,
                subcode=36009,
            )
        if grant[0] != query.get("redirect_uri"):
            raise GraphError(
                400,
                "Error validating verification code. Please make sure your redirect_uri is "
                "identical to the one you used in the OAuth dialog request",
                code=100,
                subcode=36008,
            )
        token = "EAAS" + secrets.token_urlsafe(32)
        server.tokens[token] = FakeToken("user", server.user_id, set(grant[1]))
        server.chosen_pages[token] = grant[2]
        return {"access_token": token, "token_type": "bearer", "expires_in": 5_400}

    # --- Graph nodes and edges ---------------------------------------------------------------

    @app.api_route(f"/{version}/{{node}}", methods=["GET", "POST"])
    async def node(node: str, request: Request) -> Any:
        query, files = await _params(request)
        token_text, token = server.authenticate(request, query)
        return await _node(server, request, node, None, query, files, token_text, token)

    @app.api_route(f"/{version}/{{node}}/{{edge}}", methods=["GET", "POST"])
    async def edge(node: str, edge: str, request: Request) -> Any:
        query, files = await _params(request)
        token_text, token = server.authenticate(request, query)
        return await _node(server, request, node, edge, query, files, token_text, token)

    return app


async def _node(
    server: FakeGraph,
    request: Request,
    node: str,
    edge: str | None,
    query: dict[str, str],
    files: dict[str, UploadFile],
    token_text: str,
    token: FakeToken,
) -> Any:
    method = request.method
    if node == "me":
        return _me(server, request, edge, query, token_text, token)
    if node in server.pages:
        return await _page(server, request, server.pages[node], edge, query, files, token)
    if node in server.posts:
        return _post(server, server.posts[node], edge, query, token)
    if node in server.ig_users:
        return await _ig_user(server, request, server.ig_users[node], edge, query, token)
    if node in server.containers and edge is None and method == "GET":
        container = server.containers[node]
        if container.polls_left > 0:
            container.polls_left -= 1
            return {"id": node, "status_code": "IN_PROGRESS", "status": "In Progress"}
        if container.fails:
            return {
                "id": node,
                "status_code": "ERROR",
                "status": "Error: The video could not be processed (2207026).",
            }
        status = "PUBLISHED" if container.published_media_id else "FINISHED"
        return {"id": node, "status_code": status, "status": "Finished"}
    if node in server.videos and edge is None and method == "GET":
        if "shares" in _fields(query):
            raise GraphError(
                400,
                "(#100) Tried accessing nonexisting field (shares) on node type (Video)",
                code=100,
                type_="OAuthException",
            )
        return {"id": node, "description": ""}
    if node in server.ig_media:
        return await _ig_media(server, server.ig_media[node], edge, query, token)
    raise GraphError(
        400,
        f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist, cannot "
        "be loaded due to missing permissions, or does not support this operation.",
        code=100,
        subcode=33,
        type_="GraphMethodException",
    )


def _me(
    server: FakeGraph,
    request: Request,
    edge: str | None,
    query: dict[str, str],
    token_text: str,
    token: FakeToken,
) -> dict[str, Any]:
    if token.kind != "user":
        raise GraphError(400, "(#100) Tried accessing nonexisting field", code=100)
    if edge is None:
        return {"id": server.user_id, "name": server.user_name}
    if edge == "permissions":
        asked = server.declined_scopes | token.scopes
        items = [
            {"permission": s, "status": "granted" if s in token.scopes else "declined"}
            for s in sorted(asked)
        ]
        return _paged(request, items, query)
    if edge == "accounts":
        server.require(token, "pages_show_list")
        chosen = server.chosen_pages.get(token_text, [])
        pages: list[dict[str, Any]] = []
        for page_id in chosen:
            page = server.pages[page_id]
            page_token = server.page_tokens.get(page_id)
            if page_token is None or server.tokens[page_token].invalidated:
                page_token = "EAAP" + secrets.token_urlsafe(24)
                server.tokens[page_token] = FakeToken(
                    "page",
                    server.user_id,
                    set(token.scopes),
                    page_id=page_id,
                    long_lived=token.long_lived,
                )
                server.page_tokens[page_id] = page_token
            else:
                # A person's grants to the app add up across sign-ins (Facebook Login, then
                # Instagram's): the Page's token carries every permission granted so far.
                server.tokens[page_token].scopes |= token.scopes
            pages.append(
                {
                    "id": page.id,
                    "name": page.name,
                    "username": page.username,
                    "access_token": page_token,
                    "category": "Brand",
                    "tasks": page.tasks,
                }
            )
        return _paged(request, pages, query, default=server.accounts_page_size)
    raise GraphError(400, f"Unknown path components: /{edge}", code=2500)


async def _page(
    server: FakeGraph,
    request: Request,
    page: FakePage,
    edge: str | None,
    query: dict[str, str],
    files: dict[str, UploadFile],
    token: FakeToken,
) -> Any:
    if token.kind == "page" and token.page_id != page.id:
        raise GraphError(403, "(#210) A page access token is required", code=210)
    now = server.clock()
    if edge is None and request.method == "GET":
        fields = _fields(query)
        body: dict[str, Any] = {"id": page.id}
        if "instagram_business_account" in fields:
            server.require(token, "instagram_basic", code=10)
            if page.ig_user_id:
                ig = server.ig_users[page.ig_user_id]
                body["instagram_business_account"] = {
                    "id": ig.id,
                    "username": ig.username,
                    "name": ig.name,
                }
        if "followers_count" in fields:
            server.require(token, "pages_read_engagement", code=10)
            body["followers_count"] = page.followers_count
        if "fan_count" in fields:
            body["fan_count"] = page.followers_count
        if "name" in fields:
            body["name"] = page.name
        return body
    if edge == "feed" and request.method == "POST":
        server.require(token, "pages_manage_posts")
        server.create_faults()
        attached = []
        for key in sorted(k for k in query if k.startswith("attached_media[")):
            photo = server.photos.get(json.loads(query[key]).get("media_fbid", ""))
            if photo is None or photo.page_id != page.id or photo.attached_to:
                raise GraphError(400, "(#100) Invalid attached_media", code=100)
            attached.append(photo)
        message = query.get("message", "")
        if not message and not query.get("link") and not attached:
            raise GraphError(400, "(#100) Either message or link must be provided", code=100)
        post = FakePost(
            f"{page.id}_{server.new_id()}",
            page.id,
            message,
            now,
            link=query.get("link"),
            photo_ids=[p.id for p in attached],
        )
        for photo in attached:
            photo.attached_to = post.id
        _apply_post(server, post)
        await server.after_create()
        return {"id": post.id}
    if edge == "photos" and request.method == "POST":
        server.require(token, "pages_manage_posts")
        published = query.get("published", "true") != "false"
        if published:
            server.create_faults()
        upload = files.get("source")
        if upload is None and not query.get("url"):
            raise GraphError(400, "(#324) Requires upload file", code=324)
        sha, size = await _digest(upload) if upload else ("", 0)
        if upload and not (upload.content_type or "").startswith("image/"):
            raise GraphError(400, "(#324) Missing or invalid image file", code=324)
        photo = FakePhoto(
            server.new_id(), page.id, sha, size, published, query.get("alt_text_custom")
        )
        server.photos[photo.id] = photo
        if not published:
            return {"id": photo.id}
        post = FakePost(
            f"{page.id}_{server.new_id()}",
            page.id,
            query.get("message", ""),
            now,
            photo_ids=[photo.id],
        )
        photo.attached_to = post.id
        _apply_post(server, post)
        await server.after_create()
        return {"id": photo.id, "post_id": post.id}
    if edge == "videos" and request.method == "POST":
        server.require(token, "pages_manage_posts")
        server.create_faults()
        upload = files.get("source")
        if upload is None:
            raise GraphError(400, "(#390) There was a problem uploading your video file", code=390)
        sha, size = await _digest(upload)
        video_id = server.new_id()
        server.videos[video_id] = (page.id, sha, size)
        post = FakePost(
            f"{page.id}_{server.new_id()}",
            page.id,
            query.get("description", ""),
            now,
            video_id=video_id,
        )
        _apply_post(server, post)
        await server.after_create()
        return {"id": video_id}
    if edge in ("posts", "feed", "published_posts") and request.method == "GET":
        server.require(token, "pages_read_engagement", code=10)
        since = int(query["since"]) if "since" in query else None
        found = sorted(
            (
                p
                for p in server.posts.values()
                if p.page_id == page.id and (since is None or p.created_time.timestamp() >= since)
            ),
            key=lambda p: p.created_time,
            reverse=True,
        )
        items = [
            {
                "id": p.id,
                "message": p.message or None,
                "created_time": _time(p.created_time),
                "permalink_url": f"https://www.facebook.com/{p.id}",
            }
            for p in found
        ]
        return _paged(
            request, [{k: v for k, v in i.items() if v is not None} for i in items], query
        )
    raise GraphError(400, f"Unknown path components: /{edge}", code=2500)


def _apply_post(server: FakeGraph, post: FakePost) -> None:
    server.posts[post.id] = post
    server.fb_received.append(post)


def _post(
    server: FakeGraph, post: FakePost, edge: str | None, query: dict[str, str], token: FakeToken
) -> dict[str, Any]:
    if token.page_id != post.page_id:
        raise GraphError(403, "(#10) Permission denied", code=10)
    if edge is None:
        server.require(token, "pages_read_engagement", code=10)
        fields = _fields(query)
        body: dict[str, Any] = {"id": post.id}
        if "reactions" in fields:
            body["reactions"] = {"data": [], "summary": {"total_count": post.reactions}}
        if "comments" in fields:
            body["comments"] = {"data": [], "summary": {"total_count": post.comments}}
        if "shares" in fields and post.shares:
            body["shares"] = {"count": post.shares}  # absent when never shared, as on Facebook
        return body
    if edge == "insights":
        server.require(token, "read_insights", code=10)
        values = {
            "post_media_view": post.views,
            "post_total_media_view_unique": post.reach,
            "post_clicks": post.clicks,
            "post_reactions_by_type_total": {"like": post.reactions},
        }
        data = []
        for name in query.get("metric", "").split(","):
            if name not in values:
                raise GraphError(
                    400,
                    f"(#100) The value must be a valid insights metric ({name})",
                    code=100,
                )
            data.append(
                {
                    "name": name,
                    "period": "lifetime",
                    "values": [{"value": values[name]}],
                    "id": f"{post.id}/insights/{name}/lifetime",
                }
            )
        return {"data": data}
    raise GraphError(400, f"Unknown path components: /{edge}", code=2500)


async def _ig_user(
    server: FakeGraph,
    request: Request,
    ig: FakeIgUser,
    edge: str | None,
    query: dict[str, str],
    token: FakeToken,
) -> Any:
    page = next(p for p in server.pages.values() if p.ig_user_id == ig.id)
    if token.page_id not in (None, page.id):
        raise GraphError(403, "(#10) Permission denied", code=10)
    server.require(token, "instagram_basic", code=10)
    now = server.clock()
    if edge is None:
        return {
            "id": ig.id,
            "username": ig.username,
            "followers_count": ig.followers_count,
            "follows_count": ig.follows_count,
            "media_count": sum(1 for m in server.ig_media.values() if m.ig_user_id == ig.id),
        }
    if edge == "content_publishing_limit":
        server.require(token, "instagram_content_publish", code=10)
        return {
            "data": [
                {
                    "quota_usage": server.quota_usage(ig.id),
                    "config": {"quota_total": server.quota_total, "quota_duration": 86400},
                }
            ]
        }
    if edge == "media" and request.method == "POST":
        server.require(token, "instagram_content_publish", code=10)
        return await _create_container(server, ig, query)
    if edge == "media_publish" and request.method == "POST":
        server.require(token, "instagram_content_publish", code=10)
        container = server.containers.get(query.get("creation_id", ""))
        if container is None or container.ig_user_id != ig.id or container.is_carousel_item:
            raise GraphError(400, "(#100) Invalid parameter: creation_id", code=100)
        if server.quota_usage(ig.id) >= server.quota_total:
            raise GraphError(
                400,
                "Application request limit reached",
                code=9,
                subcode=2207042,
                user_message="You reached the maximum number of posts allowed in 24 hours.",
            )
        if container.published_media_id:
            raise GraphError(
                400,
                "The media has already been published",
                code=9007,
                subcode=2207008,
            )
        if container.polls_left > 0 or container.fails:
            raise GraphError(
                400,
                "Media ID is not available",
                code=9007,
                subcode=2207027,
                user_message="The media is not ready for publishing, please wait for a moment",
            )
        server.create_faults()
        media_type = {"IMAGE": "IMAGE", "REELS": "VIDEO", "CAROUSEL": "CAROUSEL_ALBUM"}[
            container.media_type
        ]
        media = FakeIgMedia(
            server.new_id(), ig.id, container.caption, media_type, now, container.id
        )
        container.published_media_id = media.id
        server.ig_media[media.id] = media
        server.ig_received.append(media)
        await server.after_create()
        return {"id": media.id}
    if edge == "media" and request.method == "GET":
        since = int(query["since"]) if "since" in query else None
        found = sorted(
            (
                m
                for m in server.ig_media.values()
                if m.ig_user_id == ig.id and (since is None or m.timestamp.timestamp() >= since)
            ),
            key=lambda m: m.timestamp,
            reverse=True,
        )
        items = [
            {
                "id": m.id,
                "caption": m.caption,
                "media_type": m.media_type,
                "timestamp": _time(m.timestamp),
                "permalink": f"https://www.instagram.com/p/{m.id}/",
            }
            for m in found
        ]
        return _paged(request, items, query)
    raise GraphError(400, f"Unknown path components: /{edge}", code=2500)


async def _create_container(
    server: FakeGraph, ig: FakeIgUser, query: dict[str, str]
) -> dict[str, Any]:
    media_type = query.get("media_type", "IMAGE")
    is_item = query.get("is_carousel_item") == "true"
    caption = query.get("caption", "")
    if len(caption) > 2200:
        raise GraphError(400, "(#100) The caption is too long", code=100, subcode=2207010)
    if media_type == "CAROUSEL":
        children = [c for c in query.get("children", "").split(",") if c]
        if not 2 <= len(children) <= CAROUSEL_MAX or any(
            c not in server.containers or not server.containers[c].is_carousel_item
            for c in children
        ):
            raise GraphError(400, "(#100) Invalid parameter: children", code=100)
        container = FakeContainer(
            server.new_id(), ig.id, "CAROUSEL", caption, None, None, False, children
        )
        server.containers[container.id] = container
        return {"id": container.id}
    is_video = media_type in ("REELS", "VIDEO")
    url = query.get("video_url" if is_video else "image_url")
    if not url:
        raise GraphError(400, "(#100) The parameter image_url is required", code=100)
    sha = await _download(server, url, "video/" if is_video else "image/jpeg")
    container = FakeContainer(
        server.new_id(),
        ig.id,
        media_type if is_video else "IMAGE",
        caption,
        url,
        sha,
        is_item,
        alt_text=query.get("alt_text"),
        polls_left=server.video_processing_polls if is_video else 0,
    )
    if is_video and server.container_errors_next:
        server.container_errors_next = False
        container.fails = True
    server.containers[container.id] = container
    return {"id": container.id}


async def _download(server: FakeGraph, url: str, expected_type: str) -> str:
    """What Instagram does with `image_url`/`video_url`: download it."""
    server.fetched_urls.append(url)
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(url)
    except httpx.HTTPError:
        response = None
    if response is None or response.status_code != 200:
        raise GraphError(
            400,
            "Media download has failed. The media URI doesn't meet our requirements.",
            code=9004,
            subcode=2207052,
            user_message="The media could not be fetched from this uri: " + url,
        )
    if not response.headers.get("content-type", "").startswith(expected_type):
        raise GraphError(
            400,
            "Only photo or video can be accepted as media type.",
            code=9004,
            subcode=2207026 if expected_type.startswith("video") else 2207009,
        )
    return hashlib.sha256(response.content).hexdigest()


async def _ig_media(
    server: FakeGraph,
    media: FakeIgMedia,
    edge: str | None,
    query: dict[str, str],
    token: FakeToken,
) -> dict[str, Any]:
    if edge is None:
        return {
            "id": media.id,
            "permalink": f"https://www.instagram.com/p/{media.id}/",
            "timestamp": _time(media.timestamp),
            "caption": media.caption,
            "media_type": media.media_type,
        }
    if edge == "comments":
        server.require(token, "instagram_manage_comments", code=10)
        media.comments.append(query.get("message", ""))
        return {"id": server.new_id()}
    if edge == "insights":
        server.require(token, "instagram_manage_insights", code=10)
        data = []
        for name in query.get("metric", "").split(","):
            if name in ("impressions", "plays", "video_views"):
                raise GraphError(
                    400,
                    f"(#100) Starting from version v22.0 and above, the {name} metric is no "
                    "longer supported",
                    code=100,
                )
            data.append(
                {
                    "name": name,
                    "period": "lifetime",
                    "values": [{"value": media.insights.get(name, 0)}],
                    "id": f"{media.id}/insights/{name}/lifetime",
                }
            )
        return {"data": data}
    raise GraphError(400, f"Unknown path components: /{edge}", code=2500)
